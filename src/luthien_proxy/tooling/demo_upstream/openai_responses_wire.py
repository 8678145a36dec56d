"""OpenAI Responses encoder of the neutral scripted answers: the Response object and its SSE events.

Pure (no I/O). An answer becomes output items: a `message` item with one `output_text` part (when
there is text, or nothing at all), then one `function_call` item per call, its `arguments` the
call's JSON text verbatim. A stream is `response.created`, `response.in_progress`, each item's
added / delta / done events, then `response.completed` (or `response.failed`), all numbered.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Mapping
from typing import Any

from luthien_proxy.tooling.demo_upstream.answers import Answer, Call, Failure
from luthien_proxy.tooling.demo_upstream.wire_http import event_frame

_ids = itertools.count(1)

#: Request fields a Response object echoes back, with the value it has when the request omits one.
_ECHOED: dict[str, Any] = {
    "instructions": None,
    "max_output_tokens": None,
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "prompt_cache_key": None,
    "store": True,
    "temperature": 1.0,
    "tool_choice": "auto",
    "tools": [],
    "top_p": 1.0,
    "truncation": "disabled",
    "user": None,
}


def new_id(prefix: str) -> str:
    """A process-unique id with the Responses API's prefix (`resp`, `msg`, `fc`): no randomness."""
    return f"{prefix}_demo_{next(_ids):06d}"


def usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    """A Responses `usage` object (no cached or reasoning tokens: the demo has neither)."""
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def failure_code(status: int) -> str:
    """The Response `error.code` of a scripted failure's HTTP status."""
    return "rate_limit_exceeded" if status == 429 else "server_error"


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message(item_id: str, text: str | None, status: str) -> dict[str, Any]:
    content = [] if text is None else [_text_part(text)]
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": content}


def _function_call(item_id: str, call: Call, arguments: str, status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "call_id": f"call_{call.id}",
        "name": call.name,
        "arguments": arguments,
    }


class ResponseWriter:
    """Writes one Response (JSON or events) for a request, sharing its id, echoes and event numbering."""

    def __init__(self, model: str, request: Mapping[str, Any], input_tokens: int) -> None:
        self.id = new_id("resp")
        self._created = int(time.time())
        self._model = model
        self._echo = {key: request.get(key, default) for key, default in _ECHOED.items()}
        self._metadata = request.get("metadata") or {}
        self._reasoning = request.get("reasoning") or {"effort": None, "summary": None}
        self._input_tokens = input_tokens
        self._seq = itertools.count(0)

    def response(
        self,
        status: str,
        output: list[dict[str, Any]],
        output_tokens: int | None = None,
        error: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The Response object in `status`; usage only once the output is final."""
        done = output_tokens is not None
        return {
            "id": self.id,
            "object": "response",
            "created_at": self._created,
            "status": status,
            "error": error,
            "incomplete_details": None,
            "model": self._model,
            "output": output,
            **self._echo,
            "metadata": self._metadata,
            "reasoning": self._reasoning,
            "text": {"format": {"type": "text"}},
            "usage": usage(self._input_tokens, output_tokens) if done else None,
        }

    def event(self, kind: str, **fields: Any) -> bytes:
        """One SSE event of type `kind`, numbered in the order it is sent."""
        return event_frame({"type": kind, "sequence_number": next(self._seq), **fields})


def _items(answer: Answer) -> list[tuple[str, Call | None]]:
    """(item id, call) per output item; the call is None for the message item."""
    items: list[tuple[str, Call | None]] = []
    if answer.pieces or not answer.calls:
        items.append((new_id("msg"), None))
    items += [(new_id("fc"), call) for call in answer.calls]
    return items


def _final(item_id: str, call: Call | None, answer: Answer) -> dict[str, Any]:
    if call is None:
        return _message(item_id, answer.text, "completed")
    return _function_call(item_id, call, call.arguments, "completed")


def response_body(writer: ResponseWriter, answer: Answer) -> dict[str, Any]:
    """The completed Response of a non-streamed request."""
    output = [_final(item_id, call, answer) for item_id, call in _items(answer)]
    return writer.response("completed", output, answer.output_tokens())


def _message_events(w: ResponseWriter, index: int, item_id: str, answer: Answer) -> Iterator[bytes]:
    where = {"item_id": item_id, "output_index": index, "content_index": 0}
    yield w.event(
        "response.output_item.added", output_index=index, item=_message(item_id, None, "in_progress")
    )
    yield w.event("response.content_part.added", **where, part=_text_part(""))
    for piece in answer.pieces:
        yield w.event("response.output_text.delta", **where, delta=piece, logprobs=[])
    yield w.event("response.output_text.done", **where, text=answer.text, logprobs=[])
    yield w.event("response.content_part.done", **where, part=_text_part(answer.text))


def _call_events(w: ResponseWriter, index: int, item_id: str, call: Call) -> Iterator[bytes]:
    where = {"item_id": item_id, "output_index": index}
    yield w.event(
        "response.output_item.added",
        output_index=index,
        item=_function_call(item_id, call, "", "in_progress"),
    )
    for fragment in call.fragments():
        yield w.event("response.function_call_arguments.delta", **where, delta=fragment)
    yield w.event("response.function_call_arguments.done", **where, name=call.name, arguments=call.arguments)


def stream_events(writer: ResponseWriter, answer: Answer) -> Iterator[bytes]:
    """The SSE events of a streamed Response, ending in `response.completed` carrying all of it."""
    yield writer.event("response.created", response=writer.response("in_progress", []))
    yield writer.event("response.in_progress", response=writer.response("in_progress", []))
    output: list[dict[str, Any]] = []
    for index, (item_id, call) in enumerate(_items(answer)):
        if call is None:
            yield from _message_events(writer, index, item_id, answer)
        else:
            yield from _call_events(writer, index, item_id, call)
        output.append(_final(item_id, call, answer))
        yield writer.event("response.output_item.done", output_index=index, item=output[-1])
    yield writer.event(
        "response.completed", response=writer.response("completed", output, answer.output_tokens())
    )


def failed_events(writer: ResponseWriter, failure: Failure) -> Iterator[bytes]:
    """A stream that fails after starting: created, in_progress, then `response.failed` with the error."""
    error = {"code": failure_code(failure.status), "message": failure.message}
    yield writer.event("response.created", response=writer.response("in_progress", []))
    yield writer.event("response.in_progress", response=writer.response("in_progress", []))
    yield writer.event("response.failed", response=writer.response("failed", [], None, error))
