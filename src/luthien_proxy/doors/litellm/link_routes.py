"""WebSocket `/api/link`: the LiteLLM callback's fast path for the hooks the active policy leaves alone.

Protocol (docs/streaming-protocol.md, "The proxy link"). On connect the control plane sends
`POLICY{policy, version, policed}`: the policy's name and version and the hooks it implements
itself, and again after every policy change. The callback keeps, per call, the frame the call
started under and names its version in every hook and stream of the call (`POLICY_VERSION_KEY`);
the pipeline runs the call on that version while it is kept (`ActivePolicies`), so a hook reported
under the old frame is one the call's policy leaves alone. For any other hook the callback needs
no answer: it reports the hook instead of asking, in `RECORDS{items}` batches, and this route runs
each item through the same pipeline as `/api/hooks` and `/stream/{id}` — same records, same events.
Items:

- `{"hook": name, "payload": {...}}`: one hook call, exactly the hook API's body;
- `{"stream": "start", "id": id, "request": {...}}`, `{"stream": "chunk", "id": id, "chunk": {...}}`,
  `{"stream": "end", "id": id, "status": s, "error": e}`: a stream the callback relayed unchanged.

Streams are bounded and a bad stream item ends that stream only (`link_streams`). A malformed frame,
or an item that names no stream, closes the link with 1002 and a reason; the callback falls back to
the slow path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from luthien_proxy.doors.litellm.door import LiteLLMDoor, proxy_allowed
from luthien_proxy.doors.litellm.link_streams import LinkStreams, LinkViolation
from luthien_proxy.pipeline import HOOK_RUNNERS, HookInputError
from luthien_proxy.pipeline.hooks import answers
from luthien_proxy.web.request_body import MAX_JSON_DEPTH, nested_deeper_than
from luthien_proxy.wire import (
    ANSWERED_HOOKS,
    CLOSE_POLICY_VIOLATION,
    CLOSE_PROTOCOL_ERROR,
    CLOSE_RESTARTING,
    LINK_PATH,
    LINK_POLICY,
    LINK_RECORDS,
    PROXY_TOKEN_HEADER,
)

logger = logging.getLogger(__name__)
router = APIRouter(tags=["proxy link"])

# `ANSWERED_HOOKS` are reported only when the policy does not implement them. The failure hook is
# not among them on purpose: it cannot change what the client gets, so it is always reported, and a
# policy that implements it still sees it (run as the record arrives).


def policy_frame(door: LiteLLMDoor) -> dict[str, Any]:
    """What the callback needs to know to skip a round trip: which hooks the active policies answer
    (any of them: routing chooses per call), and their version. Sent again on every change
    (`_announce_changes`)."""
    active = door.pipeline.policies.current
    policed = [hook for hook in ANSWERED_HOOKS if any(answers(p, hook) for p in active.policies())]
    return {"type": LINK_POLICY, "policy": active.name, "version": active.version, "policed": policed}


def _announce_changes(websocket: WebSocket, door: LiteLLMDoor) -> Callable[[], None]:
    """Send the new POLICY frame after each policy change (a link that cannot take it is closed,
    and the callback asks everything until it reconnects); returns what stops watching."""
    tasks: set[asyncio.Task[None]] = set()

    async def announce(frame: bytes) -> None:
        try:
            await websocket.send_bytes(frame)
        except Exception:
            with contextlib.suppress(Exception):
                await websocket.close(CLOSE_RESTARTING, reason="the policy changed")

    def changed(_old: Any, _new: Any) -> None:
        task = asyncio.ensure_future(announce(orjson.dumps(policy_frame(door))))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    return door.pipeline.policies.on_change(changed)


def _parse(raw: str | bytes | None) -> list[dict[str, Any]]:
    try:
        frame = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        raise LinkViolation("frame is not valid JSON") from None
    if not isinstance(frame, dict) or frame.get("type") != LINK_RECORDS:
        raise LinkViolation("frame must be a JSON object with type RECORDS")
    items = frame.get("items")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise LinkViolation("RECORDS needs a list of objects in 'items'")
    if nested_deeper_than(frame):
        raise LinkViolation(f"frame nests deeper than {MAX_JSON_DEPTH} levels")
    return items


class _Link:
    """One connected callback: runs its reported items in order."""

    def __init__(self, door: LiteLLMDoor) -> None:
        self.door = door
        self.streams = LinkStreams(door)

    async def handle(self, item: dict[str, Any]) -> None:
        hook = item.get("hook")
        if hook is not None:
            payload = item.get("payload")
            if hook not in HOOK_RUNNERS or not isinstance(payload, dict):
                raise LinkViolation("a hook item needs a known 'hook' and an object 'payload'")
            try:
                await self.door.pipeline.run_hook(hook, payload)
            except HookInputError as exc:
                raise LinkViolation(str(exc)) from None
            except Exception:  # recorded before the policy ran; the link serves other calls
                logger.exception("reported %s: the policy failed", hook)
            return
        stream_id = item.get("id")
        if not isinstance(stream_id, str) or not stream_id:
            raise LinkViolation("a stream item needs a non-empty string 'id'")
        self.streams.handle(item.get("stream"), stream_id, item)


@router.websocket(LINK_PATH)
async def proxy_link(websocket: WebSocket) -> None:
    door: LiteLLMDoor = websocket.app.state.litellm_door
    if not proxy_allowed(websocket, door):
        await websocket.close(CLOSE_POLICY_VIOLATION, reason=f"missing or wrong {PROXY_TOKEN_HEADER} header")
        return
    await websocket.accept()
    unwatch = _announce_changes(websocket, door)  # first: a change while the frame goes is sent after it
    link = _Link(door)
    door.proxy_links += 1
    try:
        await websocket.send_bytes(orjson.dumps(policy_frame(door)))
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            for item in _parse(message.get("text") or message.get("bytes")):
                await link.handle(item)
    except LinkViolation as exc:
        logger.warning("proxy link closed: %s", exc)
        with contextlib.suppress(Exception):
            await websocket.close(CLOSE_PROTOCOL_ERROR, reason=str(exc)[:120])
    except WebSocketDisconnect:
        pass
    finally:
        unwatch()
        door.proxy_links -= 1
        await link.streams.close()
