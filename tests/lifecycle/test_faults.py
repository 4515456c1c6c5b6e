"""Fault descriptions: parsing (scenario mapping and header), seeded decisions, latency shapes."""

from __future__ import annotations

import pytest

from lifecycle.faults import Fault, FaultError, Latency, parse_fault, parse_header


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("status=503", Fault(status=503)),
        ("status=429; retry_after=5s", Fault(status=429, retry_after=5.0)),
        ("latency=200ms", Fault(latency=Latency("fixed", 0.2, 0.2))),
        ("latency=100ms..500ms", Fault(latency=Latency("uniform", 0.1, 0.5))),
        ("latency=tail:100ms..2s", Fault(latency=Latency("long-tail", 0.1, 2.0))),
        ("drop_after=5; malformed", Fault(drop_after=5, malformed=True)),
        ("no-terminal; stall=3s; drip=250ms", Fault(no_terminal=True, stall=3.0, drip=0.25)),
        ("status=500; probability=0.25", Fault(status=500, probability=0.25)),
    ],
)
def test_parse_header(header: str, expected: Fault) -> None:
    assert parse_header(header) == expected


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("stauts=503", "unknown fault 'stauts'"),
        ("status=200", "status must be an HTTP error status 400-599, not 200"),
        ("status=lots", "status must be a whole number, not 'lots'"),
        ("latency=soon", "latency 'soon' is not a duration"),
        ("latency=500ms..100ms", "uniform latency range goes backwards"),
        ("probability=2", "probability must be between 0 and 1, not 2.0"),
        ("drop_after=0", "drop_after must be a whole number from 1 to 1000000, not 0"),
    ],
)
def test_bad_headers_say_what_is_wrong(header: str, message: str) -> None:
    with pytest.raises(FaultError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_header(header)


def test_scenario_mapping_form() -> None:
    fault = parse_fault(
        {
            "latency": {"long_tail": {"median": "50ms", "p99": "1s"}},
            "status": 503,
            "times": 2,
            "operations": ["a"],
        }
    )
    assert fault.latency == Latency("long-tail", 0.05, 1.0)
    assert (fault.status, fault.times, fault.applies_to("a"), fault.applies_to("b")) == (503, 2, True, False)


def test_times_limits_the_error_to_the_first_calls() -> None:
    fault = Fault(status=503, times=2)
    assert [fault.errs(call, "k") for call in range(4)] == [True, True, False, False]


def test_probability_is_seeded_and_roughly_right() -> None:
    fault = Fault(status=500, probability=0.3)
    first = [fault.errs(call, "seed-1") for call in range(1000)]
    assert first == [fault.errs(call, "seed-1") for call in range(1000)]  # same key, same answers
    assert first != [fault.errs(call, "seed-2") for call in range(1000)]
    assert 250 < sum(first) < 350


def test_latency_shapes() -> None:
    uniform = Latency("uniform", 0.1, 0.5)
    assert [uniform.sample(d) for d in (0.0, 0.5)] == [0.1, pytest.approx(0.3)]
    tail = Latency("long-tail", 0.1, 2.0)
    assert tail.sample(0.5) == pytest.approx(0.1)  # the median
    assert tail.sample(0.99) == pytest.approx(2.0, rel=0.01)  # the 99th percentile
    assert Fault(latency=Latency("fixed", 0.2, 0.2)).delay(0, "k") == 0.2
    assert Fault().delay(0, "k") == 0.0
