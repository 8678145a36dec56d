"""A Responses API stream as neutral events, and the events a policy yields back as stream events.

`ResponsesStreamCodec` is one stream's decoder and encoder: `StreamReader` checks each event the
model sends and holds every call item until it is done; `FrameWriter` writes what the policy
yields as a well-formed stream, several events for one where the format needs them (a released
call is an item added, an arguments delta and done, and an item done).
"""

from __future__ import annotations

from luthien_proxy.dialects.held_stream import HeldStreamCodec
from luthien_proxy.dialects.openai_responses.stream_reader import StreamReader
from luthien_proxy.dialects.openai_responses.stream_writer import FrameWriter


class ResponsesStreamCodec(HeldStreamCodec[StreamReader, FrameWriter]):
    """One Responses stream: `decode` the model's events, `encode_frames` the policy's."""

    def __init__(self) -> None:
        reader = StreamReader()
        super().__init__(reader, FrameWriter(reader))
