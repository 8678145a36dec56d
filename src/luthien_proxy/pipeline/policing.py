"""A policy run on one dialect's JSON: decode into the neutral model, call the policy, encode its answer.

The one place a door's JSON meets the policy API; the hook adapter and the policy stream use it,
and so do tests that drive a policy directly. Each function takes the client's dialect (today every
door speaks OpenAI chat, the default; a new dialect is a `Dialect` value, and its door passes it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from luthien_proxy.dialects.dialect import Dialect
from luthien_proxy.dialects.openai_chat import OPENAI_CHAT
from luthien_proxy.policies import LuthienPolicy, PolicyContext

Json = dict[str, Any]


async def police_request(
    policy: LuthienPolicy, ctx: PolicyContext, dialect: Dialect = OPENAI_CHAT
) -> Json | None:
    """The request body the policy wants sent instead of `ctx.raw_request`, or None to keep it."""
    replacement = await policy.on_request(ctx.request, ctx)
    return None if replacement is None else dialect.encode_request(replacement)


async def police_response(
    policy: LuthienPolicy, body: Json, ctx: PolicyContext, dialect: Dialect = OPENAI_CHAT
) -> Json:
    """The response the client gets for `body`: always re-encoded from what the policy saw, so the
    client receives the canonical calls that were judged; raises `MalformedToolCall` for a body that
    is not a valid chat completion."""
    response = dialect.decode_response(body)
    replacement = await policy.on_response(response, ctx)
    return dialect.encode_response(response if replacement is None else replacement)


async def police_stream(
    policy: LuthienPolicy, chunks: AsyncIterator[Json], ctx: PolicyContext, dialect: Dialect = OPENAI_CHAT
) -> AsyncIterator[Json]:
    """`chunks` as events through the policy, and the policy's events back as chunks."""
    codec = dialect.stream_codec()
    events = policy.on_stream(codec.decode(chunks), ctx)
    try:
        async for event in events:
            for frame in codec.encode_frames(event):
                yield frame
    finally:
        await close_iterator(events)


async def close_iterator(iterator: Any) -> None:
    """Close an async generator (a policy's `on_stream`, the upstream's chunks) if it is one, so its
    `finally` runs now rather than whenever it is collected."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
