"""`call_view`: folds one call's events into what a person wants to see of it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from luthien_proxy.dialects.dialect import Dialect
from luthien_proxy.dialects.registry import DIALECTS, dialect_named
from luthien_proxy.pipeline.call_summary import CallTally
from luthien_proxy.wire import DIALECT_KEY


def _timestamp_iso(value: Any) -> str | None:
    return datetime.fromtimestamp(value, UTC).isoformat() if isinstance(value, int | float) else None


def call_view(call_id: str, events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Status, request and response (original vs final), chunks and decisions of one call, and its
    summary (`summary.outcome`: the one outcome the index and the API show too)."""
    tally = CallTally(call_id)
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
        _apply(view, event)
        tally.trace_id = view["trace_id"]
        tally.add(str(event.get("type")), event.get("payload") or {}, event.get("timestamp"))
    if view["streamed"] and view["status"] in ("pending", "streaming"):
        view["response"] = {side: "".join(view["chunks"][side]) for side in ("original", "final")}
    view["summary"] = tally.summary()
    return view


def _turns(request: dict[str, Any]) -> list[Any]:
    """The request's conversation: chat and Messages `messages`, or a Responses `input` (a string
    is one user turn)."""
    turns = request.get("messages") or request.get("input") or []
    return [{"role": "user", "content": turns}] if isinstance(turns, str) else turns


def _dialect(view: dict[str, Any]) -> Dialect:
    return dialect_named(view["dialect"])


def _apply(view: dict[str, Any], event: dict[str, Any]) -> None:
    kind, payload = event.get("type"), event.get("payload") or {}
    if payload.get(DIALECT_KEY) in DIALECTS:  # a record of a dialect not (or no longer) known reads as OpenAI
        view["dialect"] = payload[DIALECT_KEY]
    if kind == "request_started":
        original, final = payload.get("original") or {}, payload.get("final") or {}
        view["model"] = final.get("model") or original.get("model")
        view["request"] = {"original": _turns(original), "final": _turns(final)}
        if view["status"] == "pending":
            view["status"] = "started"
    elif kind in ("original_chunk", "final_chunk"):
        side = "original" if kind == "original_chunk" else "final"
        view["chunks"][side].append(_dialect(view).frame_text(payload.get("chunk") or {}))
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
            view["response"] = {
                "original": _dialect(view).response_text(payload["original"]),
                "final": _dialect(view).response_text(payload.get("final") or {}),
            }
