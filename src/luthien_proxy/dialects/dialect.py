"""What the pipeline needs of a wire dialect to put a policy between a client and a model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from luthien_proxy.model import Request, Response, StreamEvent

Json = dict[str, Any]


class StreamCodec(Protocol):
    """One stream's decoder and encoder: the model's frames as events, the policy's events as frames."""

    def decode(self, chunks: AsyncIterator[Json]) -> AsyncIterator[StreamEvent]: ...

    def encode_frames(self, event: StreamEvent) -> list[Json]:
        """Every frame that carries `event` to the client, in order: one in OpenAI chat, none or
        several where the dialect's blocks need opening and closing (Anthropic Messages)."""
        ...


@dataclass(frozen=True)
class Dialect:
    """A wire dialect's codec; a door names the one its clients speak (`pipeline/policing.py` uses it)."""

    name: str
    decode_request: Callable[[Json], Request]
    encode_request: Callable[[Request], Json]
    decode_response: Callable[[Json], Response]
    encode_response: Callable[[Response], Json]
    stream_codec: Callable[[], StreamCodec]
    #: The text one stream frame carries to the client (what the stream context and records keep).
    frame_text: Callable[[Json], str]
    #: The text of a whole response (what the read side shows).
    response_text: Callable[[Json], str]
    #: What its responses and streams are called in an error message ("chat completion").
    response_noun: str = "response"
    stream_noun: str = "stream"
