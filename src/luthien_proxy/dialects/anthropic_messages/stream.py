"""An Anthropic Messages stream as neutral events, and the events a policy yields back as frames.

`MessagesStreamCodec` is one stream's decoder and encoder: `StreamReader` checks each frame the
model sends and holds every `tool_use` block until it is complete; `FrameWriter` writes what the
policy yields as a well-formed stream, several frames for one event where the format needs them
(a released call is a start, a delta and a stop).
"""

from __future__ import annotations

from luthien_proxy.dialects.anthropic_messages.stream_reader import StreamReader
from luthien_proxy.dialects.anthropic_messages.stream_writer import FrameWriter
from luthien_proxy.dialects.held_stream import HeldStreamCodec


class MessagesStreamCodec(HeldStreamCodec[StreamReader, FrameWriter]):
    """One Messages stream: `decode` the model's events, `encode_frames` the policy's."""

    def __init__(self) -> None:
        reader = StreamReader()
        super().__init__(reader, FrameWriter(reader))
