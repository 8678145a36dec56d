"""`call_view`: folds one call's events into what a person wants to see of it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from luthien_proxy.dialects.dialect import Dialect
from luthien_proxy.dialects.registry import DIALECTS, dialect_named
from luthien_proxy.pipeline.call_summary import CallTally
from luthien_proxy.read.conversation.neutral import neutral_request, neutral_response, neutral_stream
from luthien_proxy.wire import DIALECT_KEY


def _timestamp_iso(value: Any) -> str | None:
    return datetime.fromtimestamp(value, UTC).isoformat() if isinstance(value, int | float) else None


@dataclass
class _Recorded:
    """The bodies a call recorded, per side, for the neutral rendering."""

    request: dict[str, Any] = field(default_factory=dict[str, Any])
    response: dict[str, Any] = field(default_factory=dict[str, Any])
    chunks: dict[str, dict[int, Any]] = field(default_factory=lambda: {"original": {}, "final": {}})


def call_view(call_id: str, events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Status, request and response (original vs final), chunks and decisions of one call, its
    summary (`summary.outcome`: the one outcome the index and the API show too), and its neutral
    rendering (`neutral`: request and response as typed parts, whatever the dialect)."""
    tally = CallTally(call_id)
    recorded = _Recorded()
    view: dict[str, Any] = {
        "call_id": call_id,
        "trace_id": None,
        "status": "pending",
        "streamed": False,
        "model": None,
        "dialect": None,
        "started_at": None,
        "completed_at": None,
        "request": {"original": [], "final": []},
        "response": {"original": "", "final": ""},
        "chunks": {"original": [], "final": []},
        "decisions": [],
        "error": None,
    }
    for event in events:
        view["trace_id"] = view["trace_id"] or event.get("trace_id")
        view["started_at"] = view["started_at"] or _timestamp_iso(event.get("timestamp"))
        _apply(view, event, recorded)
        tally.trace_id = view["trace_id"]
        tally.add(str(event.get("type")), event.get("payload") or {}, event.get("timestamp"))
    if view["streamed"] and view["status"] in ("pending", "streaming"):
        view["response"] = {side: "".join(view["chunks"][side]) for side in ("original", "final")}
    view["summary"] = tally.summary()
    view["neutral"] = _neutral(_dialect(view), recorded, view["streamed"])
    return view


def _neutral(dialect: Dialect, recorded: _Recorded, streamed: bool) -> dict[str, Any]:
    sides = ("original", "final")
    if streamed:
        response = {
            side: neutral_stream(dialect, (recorded.chunks[side][i] for i in sorted(recorded.chunks[side])))
            for side in sides
        }
    else:
        response = {side: neutral_response(dialect, recorded.response.get(side)) for side in sides}
    return {
        "request": {side: neutral_request(dialect, recorded.request.get(side)) for side in sides},
        "response": response,
    }


def _turns(request: dict[str, Any]) -> list[Any]:
    """The request's conversation: chat and Messages `messages`, or a Responses `input` (a string
    is one user turn)."""
    turns = request.get("messages") or request.get("input") or []
    return [{"role": "user", "content": turns}] if isinstance(turns, str) else turns


def _dialect(view: dict[str, Any]) -> Dialect:
    return dialect_named(view["dialect"])


def _apply(view: dict[str, Any], event: dict[str, Any], recorded: _Recorded) -> None:
    kind, payload = event.get("type"), event.get("payload") or {}
    if payload.get(DIALECT_KEY) in DIALECTS:  # a record of a dialect not (or no longer) known reads as OpenAI
        view["dialect"] = payload[DIALECT_KEY]
    if kind == "request_started":
        original, final = payload.get("original") or {}, payload.get("final") or {}
        view["model"] = final.get("model") or original.get("model")
        view["request"] = {"original": _turns(original), "final": _turns(final)}
        recorded.request = {"original": original, "final": final}
        if view["status"] == "pending":
            view["status"] = "started"
    elif kind in ("original_chunk", "final_chunk"):
        side = "original" if kind == "original_chunk" else "final"
        view["chunks"][side].append(_dialect(view).frame_text(payload.get("chunk") or {}))
        index = payload.get("index")
        chunks = recorded.chunks[side]
        chunks[index if isinstance(index, int) else len(chunks)] = payload.get("chunk")
        view["streamed"] = True
        if view["status"] in ("pending", "started"):
            view["status"] = "streaming"
    elif kind == "policy_decision":
        view["decisions"].append(payload)
    elif kind == "request_completed" and view["completed_at"] is None:  # the first end is the end
        view["status"] = payload.get("status") or "success"
        view["completed_at"] = _timestamp_iso(event.get("timestamp"))
        view["error"] = payload.get("error") or (
            payload.get("message") if view["status"] == "rejected" else None
        )
        if payload.get("streamed"):
            view["streamed"] = True
            view["response"] = {
                "original": payload.get("original_text", ""),
                "final": payload.get("final_text", ""),
            }
        elif isinstance(payload.get("original"), dict):
            recorded.response = {"original": payload["original"], "final": payload.get("final")}
            view["response"] = {
                "original": _dialect(view).response_text(payload["original"]),
                "final": _dialect(view).response_text(payload.get("final") or {}),
            }
