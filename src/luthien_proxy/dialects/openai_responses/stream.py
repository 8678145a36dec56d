"""A Responses API stream as neutral events, and the events a policy yields back as stream events.

`ResponsesStreamCodec` is one stream's decoder and encoder: `StreamReader` checks each event the
model sends and holds every call item until it is done; `FrameWriter` writes what the policy
yields as a well-formed stream, several events for one where the format needs them (a released
call is an item added, an arguments delta and done, and an item done).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from luthien_proxy.dialects.openai_responses.shapes import Json
from luthien_proxy.dialects.openai_responses.stream_reader import StreamReader
from luthien_proxy.dialects.openai_responses.stream_writer import FrameWriter
from luthien_proxy.model import StreamEvent


class ResponsesStreamCodec:
    """One Responses stream: `decode` the model's events, `encode_frames` the policy's."""

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
        """Every stream event that carries `event` to the client, in order (none, one or several)."""
        return self.writer.frames(event)
