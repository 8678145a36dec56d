"""A replay as a Markdown report (the calls whose decision would change, then the totals) and as
the `--json` document (every call, recorded beside candidate).

Tool-call arguments are model output: in the table they are clipped, `|` is escaped and control
characters are shown as escapes, so a recorded call can neither break the table nor drive the
terminal it is printed on.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from luthien_proxy.pipeline.call_summary import call_words
from luthien_proxy.tooling.eval.replay import ReplayedCall, ReplayReport, ToolVerdict, Verdict

CELL_CHARS = 90


def cell(text: str, limit: int = CELL_CHARS) -> str:
    """`text` safe in one Markdown table cell on a terminal."""
    shown = "".join(
        " " if ch in "\n\r\t" else f"\\x{ord(ch):02x}" if unicodedata.category(ch)[0] == "C" else ch
        for ch in text
    )
    shown = " ".join(shown.split())
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return shown.replace("|", "\\|")


def _decided(action: str, verdict: ToolVerdict | None) -> str:
    score = verdict.score if verdict else None
    return action if score is None else f"{action} ({score:.2f})"


def _rows(replayed: ReplayedCall) -> list[list[str]]:
    started = (replayed.call.started_at or "")[:19].replace("T", " ")
    call = cell(replayed.call.call_id, 40)
    candidate = replayed.candidate
    if candidate is None:
        return []
    rows = []
    for tool, recorded_action, candidate_action in replayed.tool_rows():
        if recorded_action == candidate_action:
            continue
        reason = (candidate.of(tool.id) or tool).reason or candidate.error or ""
        rows.append(
            [
                started,
                call,
                cell(call_words({"name": tool.name, "arguments": tool.arguments})),
                _decided(recorded_action, replayed.recorded.of(tool.id)),
                _decided(candidate_action, candidate.of(tool.id)),
                cell(reason, 60),
            ]
        )
    if not rows:  # the call as a whole changed (a rejected request, an error), no tool call did
        reason = candidate.error or replayed.skipped or ""
        rows.append([started, call, "-", replayed.recorded.action, candidate.action, cell(reason, 60)])
    return rows


def markdown(report: ReplayReport, source: str) -> str:
    """The report printed by `luthien eval --replay`."""
    totals = report.totals()
    lines = [
        f"Replay of {report.policy} over {totals['calls']} recorded calls ({source}): "
        f"{totals['differing']} would be decided differently.",
        "",
    ]
    rows = [row for replayed in report.differing for row in _rows(replayed)]
    if rows:
        lines += [
            "| started (UTC) | call | tool call | recorded | candidate | candidate's reason |",
            "|---|---|---|---|---|---|",
            *("| " + " | ".join(row) + " |" for row in rows),
            "",
        ]
    lines.append(
        f"{totals['replayed']} replayed, {totals['skipped']} not (fully) replayed; "
        f"recorded: {_counts(totals['recorded'])}; candidate: {_counts(totals['candidate'])}"
        + (f"; changes: {_counts(totals['changes'])}" if totals["changes"] else "")
    )
    skipped = [c for c in report.calls if c.skipped]
    for replayed in skipped[:5]:
        lines.append(
            f"  not replayed: {cell(replayed.call.call_id, 40)}: {cell(replayed.skipped or '', 100)}"
        )
    if len(skipped) > 5:
        lines.append(f"  ... and {len(skipped) - 5} more (see --json)")
    return "\n".join(lines)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counts.items())) or "none"


def _verdict_json(verdict: Verdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {
        "action": verdict.action,
        "error": verdict.error,
        "tool_calls": [
            {
                "id": t.id,
                "name": t.name,
                "arguments": t.arguments,
                "action": t.action,
                "score": t.score,
                "reason": t.reason,
            }
            for t in verdict.tool_calls.values()
        ],
    }


def json_document(report: ReplayReport, source: dict[str, Any]) -> dict[str, Any]:
    """`--json` of a replay: the source, the totals and every call read."""
    return {
        "policy": report.policy,
        "mode": "replay",
        "source": source,
        "totals": report.totals(),
        "calls": [
            {
                "call_id": c.call.call_id,
                "trace_id": c.call.trace_id,
                "started_at": c.call.started_at,
                "dialect": c.call.dialect,
                "streamed": c.call.streamed,
                "differs": c.differs,
                "skipped": c.skipped,
                "recorded": _verdict_json(c.recorded),
                "candidate": _verdict_json(c.candidate),
            }
            for c in report.calls
        ],
    }
