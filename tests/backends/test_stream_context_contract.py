"""The stream-context contract (`stream:{call_id}:text` / `:index`, TTL, clear), run against the
in-process store and Redis alike."""

from __future__ import annotations

import asyncio
import uuid

from luthien_proxy.backends.stream_context import StreamContextStore
from tests.conftest import OpenServices


def _ids(*names: str) -> list[str]:
    """Call ids no earlier run used: Redis keeps keys between runs until their TTL."""
    run = uuid.uuid4().hex
    return [f"{name}-{run}" for name in names]


async def test_appends_accumulate_text_and_index_per_call(open_services: OpenServices) -> None:
    context = (await open_services()).stream_context
    one, two = _ids("call-1", "call-2")
    for text in ("a", "b", ""):
        context.append(one, text)
    context.append(two, "other")
    # Reads flush pending appends first: what was appended is seen at once.
    assert await context.get_text(one) == "ab"
    assert await context.get_index(one) == 3
    assert await context.get_text(two) == "other"
    assert await context.get_index(two) == 1
    assert await context.exists(one)


async def test_an_unknown_call_has_nothing(open_services: OpenServices) -> None:
    context = (await open_services()).stream_context
    (never,) = _ids("never")
    assert not await context.exists(never)
    assert await context.get_text(never) == ""
    assert await context.get_index(never) == 0


async def test_clear_removes_one_call_only(open_services: OpenServices) -> None:
    context = (await open_services()).stream_context
    gone, kept = _ids("gone", "kept")
    context.append(gone, "x")
    context.append(kept, "y")
    await context.clear(gone)
    assert not await context.exists(gone)
    assert await context.get_index(gone) == 0
    assert await context.get_text(kept) == "y"


async def test_keys_expire_by_ttl_when_never_cleared(open_services: OpenServices) -> None:
    context = (await open_services(stream_context_ttl_seconds=1)).stream_context
    (orphan,) = _ids("orphan")
    context.append(orphan, "left behind")
    assert await context.get_text(orphan) == "left behind"
    redis_client = getattr(context, "client", None)
    if redis_client is not None:
        assert 0 < await redis_client.ttl(f"stream:{orphan}:text") <= 1
        assert 0 < await redis_client.ttl(f"stream:{orphan}:index") <= 1
    await _wait_until_gone(context, orphan, timeout=5)


async def _wait_until_gone(context: StreamContextStore, call_id: str, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await context.exists(call_id):
        assert loop.time() < deadline, f"stream context for {call_id} still present after {timeout}s"
        await asyncio.sleep(0.02)
