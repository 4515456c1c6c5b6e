"""One contract run: load the spec, probe the target phase by phase, report.

``check`` always returns a report, whatever happens: a transport failure is a finding of the check
in progress and the next phase still runs; a usage error (a base URL without a scheme, a target
that does not answer, a create the server refuses for want of a credential or a parameter) and an
internal error of the kit are kept in the report with their exit code, next to what was gathered.
"""

from __future__ import annotations

import difflib
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from contracts.conformance import (
    MAX_TIME,
    AuthMode,
    Settings,
    conformance,
    credential_headers,
    schema_document,
)
from contracts.drops import CHECK, Drops, label_of
from contracts.live_probes import LiveProbes
from contracts.phases import PHASES
from contracts.probes import Options
from contracts.report import EXIT_INTERNAL, EXIT_USAGE, Report, Violation
from contracts.requests import Requests, ServerFailure, UsageError
from contracts.rules import RuleChecks
from contracts.target import (
    Exchange,
    Target,
    TransportFailure,
    Unreachable,
    check_base_url,
    secret_references,
)
from lifecycle.openapi import Operation
from lifecycle.spec import ApiSpec, load_spec

Progress = Callable[[str], None]


def default_tolerances(spec: ApiSpec) -> frozenset[str]:
    """The deviations the spec's notes tolerate by default."""
    return frozenset(d.name for d in spec.lifecycle.deviations if d.tolerated)


def unknown_deviations(spec: ApiSpec, names: Iterable[str]) -> list[str]:
    """A usage message (with did-you-mean) for every name that is no deviation of ``spec``."""
    known = sorted(d.name for d in spec.lifecycle.deviations)
    messages = []
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            messages.append(
                f"{name!r} is no known deviation of {spec.name} (known: {', '.join(known) or 'none'}){hint}"
            )
    return messages


def resolve_auth(
    auth: AuthMode | None, headers: Mapping[str, str], credential_names: frozenset[str]
) -> AuthMode:
    """The deployment's auth: as given, else ``required`` when a credential header was given, else
    ``none`` (a server that needs one refuses the create, and the kit says to pass it)."""
    if auth is not None:
        return auth
    return "required" if given_credential(headers, credential_names) else "none"


def given_credential(headers: Mapping[str, str], credential_names: frozenset[str]) -> bool:
    return any(name.lower() in credential_names for name in headers)


def check(  # noqa: PLR0915 (one straight sequence: validate, then each phase, then the error paths)
    spec_path: Path,
    base_url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    phases: Iterable[str] = PHASES,
    options: Options | None = None,
    tolerate: Iterable[str] = (),
    no_tolerate: Iterable[str] = (),
    examples: int = 25,
    seed: int = 0,
    max_time: float = MAX_TIME,
    auth: AuthMode | None = None,
    operations: Iterable[str] = (),
    progress: Progress | None = None,
) -> Report:
    """Check the server at ``base_url`` against ``spec_path``; the report says how it went
    (``report.exit_code``: 0 clean, 1 violations, 2 usage error or unreachable, 3 internal error)."""
    say: Progress = progress or (lambda _: None)
    spec = load_spec(spec_path.read_text(encoding="utf-8"), str(spec_path), validate_openapi=False)
    given = dict(headers or {})
    names = credential_headers(schema_document(spec_path))
    report = Report(spec.name, references=secret_references(given, names))
    problems = unknown_deviations(spec, [*tolerate, *no_tolerate])
    for operation in operations:
        if operation not in spec.operations:
            close = difflib.get_close_matches(operation, sorted(spec.operations), n=1)
            guess = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(f"--operation {operation!r} is no operationId of {spec.name}{guess}")
    hint = check_base_url(base_url)
    if hint or problems:
        report.fail("; ".join([*([hint] if hint else []), *problems]), EXIT_USAGE)
        return report
    tolerances = (default_tolerances(spec) | frozenset(tolerate)) - frozenset(no_tolerate)
    chosen = replace(options or Options(), tolerate=tolerances)
    mode = resolve_auth(auth, given, names)
    if names:
        why = (
            "as given"
            if auth is not None
            else "a credential was given"
            if given_credential(given, names)
            else "no credential given"
        )
        off = "; the auth checks are off" if mode == "none" else ""
        report.notes.append(f"auth: {mode} ({why}; --auth required|any-credential|none){off}")
    target = Target(base_url, given, references=report.references)
    began = time.monotonic()
    try:
        target.ensure_reachable()
        probes = LiveProbes(Requests(spec, params), target, report, chosen)
        rules = RuleChecks(probes)  # x-lifecycle.rules, each judged after the phase that can see it
        for phase in phases:
            elapsed = time.monotonic() - began
            say(f"comeback check: {phase} ({elapsed:.0f}s, {probes.created} resource(s) created)")
            try:
                if phase == "conformance":
                    settings = Settings(
                        base_url,
                        given,
                        dict(params or {}),
                        mode,
                        tolerances,
                        report.references,
                        examples,
                        seed,
                        max_time,
                        tuple(operations),
                        say,
                        target.drops,
                    )
                    conformance(spec_path, spec.lifecycle, report, settings)
                else:
                    getattr(probes, f"{phase}_probe")()
                    rules.after(phase)
            except TransportFailure as failure:
                check_name, unit = probes.current if probes.current[0] else (f"{phase}.transport", "")
                report.add(
                    Violation(
                        check_name,
                        f"expected an HTTP answer; {failure}",
                        exchanges=_sequence(target.log, failure.exchange),
                        unit=unit,
                    )
                )
                _left(report, phase, f"the {phase} phase stopped after a transport failure in {check_name}")
            except ServerFailure as failure:
                check_name, unit = probes.current if probes.current[0] else (f"{phase}.create", "")
                report.add(Violation(check_name, str(failure), exchanges=tuple(target.log[-2:]), unit=unit))
                _left(report, phase, f"the {phase} phase could not create a resource")
            probes.current = ("", "")
        say(f"comeback check: done ({time.monotonic() - began:.0f}s, {probes.created} resource(s) created)")
    except (Unreachable, UsageError) as error:
        report.fail(str(error), EXIT_USAGE)
        _left(report, "", f"the run stopped: {error}")
    except Exception as error:  # an internal error of the kit: keep what was gathered
        where = traceback.extract_tb(error.__traceback__)[-1]
        report.fail(
            f"internal error of the kit: {type(error).__name__}: {error} "
            f"(at {Path(where.filename).name}:{where.lineno}); the report holds what was gathered",
            EXIT_INTERNAL,
        )
        _left(report, "", "the run stopped on an internal error of the kit")
    finally:
        target.close()
        record_drops(target.drops, report, spec.operations)
    return report


def _left(report: Report, phase: str, reason: str) -> None:
    """Mark every case of ``phase`` (all, when empty) that recorded nothing as not observed."""
    for check, unit in list(report.cases):
        if (not phase or check.startswith(phase + ".")) and report.outcome(check, unit)[1] == "not reached":
            report.not_observed(check, unit, reason=reason)


def _sequence(log: list[Exchange], last: Exchange) -> tuple[Exchange, ...]:
    """The failed request and the few before it (what led to it)."""
    return tuple(log[-4:]) if last in log else (last,)


def record_drops(drops: Drops, report: Report, operations: Mapping[str, Operation]) -> None:
    """One finding per operation and status; the case passes when 5xx answers left the
    connection usable, and is not observed when there was no 5xx to follow."""
    report.expect(CHECK)
    seen: set[tuple[str, int]] = set()
    for drop in drops.found:
        label = label_of(operations, drop.method, drop.url)
        if (label, drop.status) in seen:
            continue
        seen.add((label, drop.status))
        report.add(
            Violation(
                CHECK,
                f"the server closed the connection after answering {drop.status} to {label}: the next "
                f"request on that connection failed ({drop.error}); a client that keeps connections "
                "alive (every SDK) gets a transport error on its next call",
                reproduce=drop.reproduce,
            )
        )
    if not drops.found:
        if drops.errors:
            report.passed(CHECK)
        else:
            report.not_observed(CHECK, reason="no 5xx answer, after which a drop would show")
