"""The Anthropic Messages dialect (`POST /v1/messages`): its requests, responses and streams decoded
into the neutral model (`luthien_proxy.model`) and encoded back. Claude Code speaks it."""

from luthien_proxy.dialects.anthropic_messages.request import decode_request, encode_message, encode_request
from luthien_proxy.dialects.anthropic_messages.response import decode_response, encode_response, stop_reason
from luthien_proxy.dialects.anthropic_messages.stream import MessagesStreamCodec
from luthien_proxy.dialects.anthropic_messages.text import frame_text, message_text
from luthien_proxy.dialects.dialect import Dialect
from luthien_proxy.wire import DIALECT_ANTHROPIC_MESSAGES

ANTHROPIC_MESSAGES = Dialect(
    DIALECT_ANTHROPIC_MESSAGES,
    decode_request,
    encode_request,
    decode_response,
    encode_response,
    MessagesStreamCodec,
    frame_text,
    message_text,
    response_noun="Messages response",
    stream_noun="Messages stream",
)

__all__ = [
    "ANTHROPIC_MESSAGES",
    "MessagesStreamCodec",
    "decode_request",
    "decode_response",
    "encode_message",
    "encode_request",
    "encode_response",
    "frame_text",
    "message_text",
    "stop_reason",
]
