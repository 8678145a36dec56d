"""A stream codec made of a reader that checks the model's frames and holds each call until it is
complete, and a writer that writes the policy's events as a well-formed stream: the shape of every
dialect whose calls span several frames (Anthropic Messages, OpenAI Responses)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Generic, Protocol, TypeVar

from luthien_proxy.dialects.json_values import Json
from luthien_proxy.model import StreamEvent


class FrameReader(Protocol):
    def feed(self, frame: Any) -> list[StreamEvent]:
        """The events `frame` completes (none while a call is held)."""
        ...

    def finish(self) -> None:
        """The model's stream ended: raise `MalformedToolCall` if it ended inside a call."""
        ...


class EventWriter(Protocol):
    def frames(self, event: StreamEvent) -> list[Json]: ...


ReaderT = TypeVar("ReaderT", bound=FrameReader)
WriterT = TypeVar("WriterT", bound=EventWriter)


class HeldStreamCodec(Generic[ReaderT, WriterT]):
    """One stream: `decode` the model's frames through `reader`, `encode_frames` with `writer`."""

    def __init__(self, reader: ReaderT, writer: WriterT) -> None:
        self.reader = reader
        self.writer = writer

    async def decode(self, chunks: AsyncIterator[Json]) -> AsyncIterator[StreamEvent]:
        reader = self.reader
        async for frame in chunks:
            for event in reader.feed(frame):
                yield event
        reader.finish()

    def encode_frames(self, event: StreamEvent) -> list[Json]:
        """Every frame that carries `event` to the client, in order (none, one or several)."""
        return self.writer.frames(event)
