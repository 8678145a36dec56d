"""LiteLLM's `/v1/responses` stream items (its typed event objects, SSE bytes or dicts) to the events a
client reads, and the policy's events back as objects LiteLLM writes, tracks and re-ids as its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from litellm.llms.openai.responses.transformation import OpenAIResponsesAPIConfig
from litellm.proxy.common_request_processing import _parse_event_data_for_error
from litellm.proxy.common_utils.responses_stream_errors import ResponsesStreamErrorState
from litellm.types.llms.base import BaseLiteLLMOpenAIResponseObject

from luthien_proxy.doors.litellm.callback.anthropic_sse import MalformedStream
from luthien_proxy.doors.litellm.callback.errors import StreamPolicyError
from luthien_proxy.doors.litellm.callback.responses_stream import (
    EventDecoder,
    PolicedEvent,
    error_frame,
    policed_event,
    response_events,
    written_events,
)
from tests.dialects.openai_responses_fixtures import call_item, frames, message_item, stream

Json = dict[str, Any]
EVENTS = stream(message_item(0, "héllo ", "there"), call_item(1, '{"cmd": "ls -la"}'))


def litellm_event(event: Json) -> BaseLiteLLMOpenAIResponseObject:
    """`event` as LiteLLM hands it to the iterator hook (its OpenAI Responses transformation)."""
    return OpenAIResponsesAPIConfig.get_event_model_class(event["type"])(**event)


def written(item: BaseLiteLLMOpenAIResponseObject) -> Json:
    """The JSON LiteLLM writes for a stream object (`proxy_server._serialize_streaming_chunk`)."""
    return orjson.loads(item.model_dump_json(exclude_none=True, exclude_unset=True))


def _decode(items: list[Any]) -> list[Json]:
    decoder = EventDecoder()
    return [event for item in items for event in decoder.feed(item)] + decoder.finish()


def test_typed_events_are_read_as_the_json_litellm_would_write_for_them() -> None:
    typed = [litellm_event(event) for event in EVENTS]
    decoded = _decode(typed)
    assert decoded == [written(item) for item in typed]
    assert [e["type"] for e in decoded] == [e["type"] for e in EVENTS]
    assert decoded[-1]["response"]["output"][1]["arguments"] == '{"cmd": "ls -la"}'
    # LiteLLM's own nulls (an unset `usage`, an absent `error`) are not what a client reads.
    assert "usage" not in decoded[0]["response"] and "error" not in decoded[0]["response"]


def test_sse_bytes_and_event_dicts_are_read_too() -> None:
    wire = b"".join(b"event: %s\ndata: %s\n\n" % (e["type"].encode(), orjson.dumps(e)) for e in EVENTS)
    assert _decode([wire[i : i + 9] for i in range(0, len(wire), 9)]) == EVENTS
    assert _decode(list(EVENTS)) == EVENTS


@pytest.mark.parametrize("item", [42, object(), b'data: {"no": "type"}\n\n', b"data: [1, 2]\n\n"])
def test_an_item_that_is_not_an_event_fails_the_stream(item: Any) -> None:
    with pytest.raises(MalformedStream):
        _decode([item])


async def test_a_stream_decodes_item_by_item_in_order() -> None:
    assert [event async for event in response_events(frames(EVENTS))] == EVENTS


def test_a_policed_event_is_written_tracked_and_re_ided_as_litellm_s_own() -> None:
    """LiteLLM writes the object's JSON (top-level nulls dropped, nested values as sent), reads its
    response id and sequence number for the `response.failed` it may write, and knows a terminal
    event ended the stream (so it writes no failure after it)."""
    completed = {**EVENTS[-1], "extra": None}
    item = policed_event(completed)
    assert isinstance(item, BaseLiteLLMOpenAIResponseObject)
    assert written(item) == EVENTS[-1]
    assert item.model_dump(mode="json")["response"]["usage"] == completed["response"]["usage"]
    state = ResponsesStreamErrorState()
    state.observe_chunk(item)
    state.mark_emitted("frame")
    assert (state.response_id, state.sequence_number) == ("resp_01", completed["sequence_number"])
    assert state.terminal_emitted and state.format_failure(RuntimeError("late")) is None


async def test_an_error_frame_is_what_litellm_answers_as_an_http_error_and_the_sdk_raises() -> None:
    frame = error_frame(503, "Luthien control plane unreachable at http://10.1.2.3:9; fail-closed", "x")
    assert frame.startswith(b"data: ") and frame.endswith(b"\n\n")
    error = orjson.loads(frame[6:])["error"]
    assert (error["type"], error["code"], error["param"]) == ("x", "503", None)
    assert "fail-closed" in error["message"] and "10.1.2.3" not in error["message"]
    assert await _parse_event_data_for_error(frame) == 503, "LiteLLM's first-chunk check reads its status"


async def _failing(events: list[Json], exc: Exception) -> AsyncIterator[Json]:
    for event in events:
        yield event
    raise exc


async def _written(events: list[Json], exc: Exception) -> tuple[list[Any], Exception]:
    out: list[Any] = []
    with pytest.raises(type(exc)) as info:
        async for item in written_events(_failing(events, exc)):
            out.append(item)
    return out, info.value


@pytest.mark.parametrize(
    ("exc", "status", "kind"),
    [
        (StreamPolicyError(403, "stream blocked by policy", "policy_rejection"), "403", "policy_rejection"),
        (MalformedStream("an SSE data line is not JSON"), "502", "upstream_error"),
    ],
)
async def test_a_stream_that_fails_before_it_ended_gets_an_error_frame_then_the_failure(
    exc: Exception, status: str, kind: str
) -> None:
    out, raised = await _written(EVENTS[:3], exc)
    assert raised is exc, "raised on, for LiteLLM's failure hook and its response.failed"
    *events, frame = out
    assert all(isinstance(item, PolicedEvent) for item in events) and len(events) == 3
    error = orjson.loads(frame.removeprefix(b"data: "))["error"]
    assert (error["code"], error["type"], error["message"]) == (status, kind, str(exc))


async def test_a_failure_after_the_response_ended_adds_no_frame() -> None:
    out, _ = await _written(EVENTS, RuntimeError("late"))
    assert [written(item) for item in out] == EVENTS
