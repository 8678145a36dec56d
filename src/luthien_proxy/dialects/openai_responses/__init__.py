"""The OpenAI Responses API dialect (`POST /v1/responses`): its requests, responses and streams
decoded into the neutral model (`luthien_proxy.model`) and encoded back. Codex CLI speaks it."""

from luthien_proxy.dialects.dialect import Dialect
from luthien_proxy.dialects.openai_responses.request import (
    decode_item,
    decode_request,
    encode_item,
    encode_request,
)
from luthien_proxy.dialects.openai_responses.response import decode_response, encode_response
from luthien_proxy.dialects.openai_responses.stream import ResponsesStreamCodec
from luthien_proxy.dialects.openai_responses.text import frame_text, item_text, response_text
from luthien_proxy.wire import DIALECT_OPENAI_RESPONSES

OPENAI_RESPONSES = Dialect(
    DIALECT_OPENAI_RESPONSES,
    decode_request,
    encode_request,
    decode_response,
    encode_response,
    ResponsesStreamCodec,
    frame_text,
    response_text,
    response_noun="Responses API response",
    stream_noun="Responses API stream",
)

__all__ = [
    "OPENAI_RESPONSES",
    "ResponsesStreamCodec",
    "decode_item",
    "decode_request",
    "decode_response",
    "encode_item",
    "encode_request",
    "encode_response",
    "frame_text",
    "item_text",
    "response_text",
]
