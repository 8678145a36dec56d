"""The OpenAI chat dialect: its requests, completions and streams decoded into the neutral model
(`luthien_proxy.model`) and encoded back. The LiteLLM door and the native door both speak it."""

from luthien_proxy.dialects.dialect import Dialect
from luthien_proxy.dialects.openai_chat.request import decode_request, encode_messages, encode_request
from luthien_proxy.dialects.openai_chat.response import decode_response, encode_response
from luthien_proxy.dialects.openai_chat.stream import ChatStreamCodec
from luthien_proxy.dialects.openai_chat.text import chunk_text, response_text
from luthien_proxy.wire import DIALECT_OPENAI_CHAT

OPENAI_CHAT = Dialect(
    DIALECT_OPENAI_CHAT,
    decode_request,
    encode_request,
    decode_response,
    encode_response,
    ChatStreamCodec,
    chunk_text,
    response_text,
    response_noun="chat completion",
    stream_noun="chat stream",
)

__all__ = [
    "OPENAI_CHAT",
    "ChatStreamCodec",
    "chunk_text",
    "decode_request",
    "decode_response",
    "encode_messages",
    "encode_request",
    "encode_response",
    "response_text",
]
