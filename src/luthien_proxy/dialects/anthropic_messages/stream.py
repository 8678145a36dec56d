"""An Anthropic Messages stream as neutral events, and the events a policy yields back as frames.

`MessagesStreamCodec` is one stream's decoder and encoder: `StreamReader` checks each frame the
model sends and holds every `tool_use` block until it is complete; `FrameWriter` writes what the
policy yields as a well-formed stream, several frames for one event where the format needs them
(a released call is a start, a delta and a stop).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from luthien_proxy.dialects.anthropic_messages.stream_reader import StreamReader
from luthien_proxy.dialects.anthropic_messages.stream_writer import FrameWriter
from luthien_proxy.dialects.json_values import Json
from luthien_proxy.model import StreamEvent


class MessagesStreamCodec:
    """One Messages stream: `decode` the model's events, `encode_frames` the policy's."""

    def __init__(self) -> None:
        self.reader = StreamReader()
        self.writer = FrameWriter(self.reader)

    async def decode(self, chunks: AsyncIterator[Json]) -> AsyncIterator[StreamEvent]:
        reader = self.reader
        async for frame in chunks:
            for event in reader.feed(frame):
                yield event
        reader.finish()

    def encode_frames(self, event: StreamEvent) -> list[Json]:
        """Every frame that carries `event` to the client, in order (none, one or several)."""
        return self.writer.frames(event)
