"""The Anthropic Messages dialect (`POST /v1/messages`): its requests, responses and streams decoded
into the neutral model (`luthien_proxy.model`) and encoded back. Claude Code speaks it."""

from luthien_proxy.dialects.anthropic_messages.request import decode_request, encode_message, encode_request
from luthien_proxy.dialects.anthropic_messages.response import decode_response, encode_response, stop_reason
from luthien_proxy.dialects.anthropic_messages.stream import MessagesStreamCodec
from luthien_proxy.dialects.anthropic_messages.text import frame_text, message_text
from luthien_proxy.dialects.dialect import Dialect

ANTHROPIC_MESSAGES = Dialect(
    "anthropic_messages",
    decode_request,
    encode_request,
    decode_response,
    encode_response,
    MessagesStreamCodec,
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
