"""Regenerate broken/*.yaml from minimal.yaml: each variant changes exactly one thing.

Run from this folder after changing minimal.yaml, then review the diff of broken/*.expected
(regenerate those with `comeback lint broken/NAME.yaml > broken/NAME.expected`).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE = (HERE / "minimal.yaml").read_text(encoding="utf-8")
LIFECYCLE = BASE[BASE.index("x-lifecycle:") :]

VARIANTS: dict[str, tuple[str, str] | list[tuple[str, str]]] = {
    "unknown_state": ("    running: [done, cancelled]\n", "    running: [done, cancelled, queud]\n"),
    "terminal_with_exit": (
        "    running: [done, cancelled]\n",
        "    running: [done, cancelled]\n    done: [running]\n",
    ),
    "enum_value_without_state": (
        "enum: [queued, running, done, cancelled]",
        "enum: [queued, running, done, cancelled, paused]",
    ),
    "state_value_not_in_enum": ("done: {show: {status: done}", "done: {show: {status: finished}"),
    "unknown_operation": ("    operation: cancelJob\n", "    operation: cancelJb\n"),
    "link_unknown_operation": ("              operationId: getJob\n", "              operationId: getJbo\n"),
    "link_unknown_parameter": (
        "              parameters: {job_id: $response.body#/id}\n            CancelJob",
        "              parameters: {jobid: $response.body#/id}\n            CancelJob",
    ),
    "bad_example": (
        'example: {id: job-1, status: queued, created_at: "2025-01-01T00:00:00Z", completed_at: null}',
        'example: {id: job-1, status: queud, created_at: "yesterday", completed_at: null}',
    ),
    "lifecycle_shape": ("  initial: queued\n", "  inital: queued\n"),
    "invalid_openapi": ("          description: No such job.\n", "          summary: No such job.\n"),
    "yaml_syntax": (
        "    get:\n      operationId: getJob\n",
        "    get:\n      operationId: getJob\n     responses: {}\n",
    ),
    "duplicate_key": (
        "    get:\n      operationId: getJob\n",
        "    get:\n      operationId: getJob\n      operationId: readJob\n",
    ),
    "view_field_missing": (
        "id: $request.path.job_id, fields: {status: /status,",
        "id: $request.path.job_id, fields: {status: /state,",
    ),
    "expression_parameter_missing": (
        "    id: $request.path.job_id\n    to: cancelled",
        "    id: $request.path.jobid\n    to: cancelled",
    ),
    "no_lifecycle": (LIFECYCLE, ""),
    "unreachable_states": (
        "    queued: [running, cancelled]\n    running: [done, cancelled]\n",
        "    queued: [cancelled]\n    running: [done, cancelled]\n",
    ),
    "dead_end_state": (
        "    queued: [running, cancelled]\n    running: [done, cancelled]\n",
        "    queued: [running, done, cancelled]\n",
    ),
    "bad_effect_kind": (
        "  decisions:\n",
        "  deviations:\n    - {name: late-flip, ambiguity: X-A1, note: flips, tolerated: false,"
        " effect: {kind: extra-transition, transitions: {done: [running]}}}\n  decisions:\n",
    ),
    "cancel_to_non_terminal": ("    to: cancelled\n", "    to: running\n"),
    "no_terminal_state": [
        ("done: {show: {status: done}, terminal: true,", "done: {show: {status: done},"),
        ("cancelled: {show: {status: cancelled}, terminal: true,", "cancelled: {show: {status: cancelled},"),
    ],
    "same_show_values": ("running: {show: {status: running}", "running: {show: {status: queued}"),
    "unknown_logical_field": ("absent: [completed_at]}\n    running", "absent: [complete_at]}\n    running"),
    "body_field_missing": (
        'create: {operation: createJob, id: "$response.body#/id"}',
        'create: {operation: createJob, id: "$response.body#/job"}',
    ),
    "view_without_id": (
        "{operation: getJob, id: $request.path.job_id, fields:",
        "{operation: getJob, fields:",
    ),
    "items_not_an_array": (
        "{operation: getJob, id: $request.path.job_id, fields:",
        "{operation: getJob, id: $response.body#/id, items: /status, fields:",
    ),
    "status_without_enum": (
        "{operation: getJob, id: $request.path.job_id, fields: {status: /status,",
        "{operation: getJob, id: $request.path.job_id, fields: {status: /id,",
    ),
    "null_not_allowed": [
        ("enum: [queued, running, done, cancelled]", "enum: [null, running, done, cancelled]"),
        ("queued: {show: {status: queued}", "queued: {show: {status: null}"),
    ],
    "undeclared_callback": (
        "  decisions:\n",
        "  callback: {name: jobDone, url: $request.body#/input, fires: first-terminal,"
        " timeout_seconds: 5, retries: 0}\n"
        "  decisions:\n",
    ),
    "rule_unknown_kind": (
        "  decisions:\n",
        "  rules:\n    - {id: result-total, kind: sums, stated: Job result totals add up.}\n  decisions:\n",
    ),
    "rule_unknown_operation": (
        "  decisions:\n",
        "  rules:\n    - {id: result-total, kind: sum, stated: Job result totals add up., operation: getJb,"
        " with_id: $request.path.job_id, total: /total, parts: [/a, /b]}\n  decisions:\n",
    ),
    "rule_pointer_missing": (
        "  decisions:\n",
        "  rules:\n    - {id: listed, kind: list-contains-reply, stated: The job lists its result.,"
        " operation: getJob, with_id: $request.path.jobid, items: /status, match: {/role: assistant}}\n"
        "    - {id: result-total, kind: sum, stated: Job result totals add up., operation: getJob,"
        " with_id: $request.path.job_id, total: /total, parts: [/id, /result], when: [done, runing]}\n"
        "  decisions:\n",
    ),
    "rule_views_and_stream": (
        "  decisions:\n",
        "  rules:\n    - {id: same-stamps, kind: same-in-views, stated: A job is the same job everywhere.,"
        " fields: [completed_at, complete_at, result], views: [createJob, getJb]}\n"
        "    - {id: token, kind: stream-token, stated: The stream token is single use.}\n"
        "    - {id: same-stamps, kind: unchecked, stated: Jobs are billed by the second., decision: X-A2}\n"
        "  decisions:\n",
    ),
}


def variant(changes: tuple[str, str] | list[tuple[str, str]]) -> str:
    """The minimal spec with ``changes`` applied (one (old, new) pair, or several)."""
    text = BASE
    for old, new in changes if isinstance(changes, list) else [changes]:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


if __name__ == "__main__":
    for name, changes in VARIANTS.items():
        (HERE / "broken" / f"{name}.yaml").write_text(variant(changes), encoding="utf-8")
