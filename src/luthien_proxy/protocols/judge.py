"""`ModelClient`: a trusted (or untrusted) model reached directly, over OpenAI chat or Anthropic Messages.

Calls go straight to the endpoint, never through the proxy, so a protocol's own model calls are
never policed by the protocol that made them. Requests go through the host's one persistent
HTTP client, each with this model's timeout.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from opentelemetry.trace import SpanKind

from luthien_proxy.backends.telemetry import ATTEMPTS, JUDGE_API, JUDGE_SPAN, MODEL, annotate, span
from luthien_proxy.policies.host import PolicyHost

RETRY_BACKOFF_SECONDS = 0.05
#: The wire APIs a model may speak: OpenAI chat completions, or Anthropic Messages.
APIS = ("openai", "anthropic")
ANTHROPIC_VERSION = "2023-06-01"
#: Anthropic requires `max_tokens`; a judge's one-object answer needs far fewer.
ANTHROPIC_MAX_TOKENS = 1024
#: One optional Markdown fence around the whole answer (```json ... ```), nothing outside it.
_FENCE = re.compile(r"\A```(?:json)?[ \t]*\n(.*)\n[ \t]*```\Z", re.DOTALL | re.IGNORECASE)


class ModelCallError(Exception):
    """The model could not be reached or answered something unusable."""


def default_base_url(environ: Mapping[str, str]) -> str | None:
    """The judge endpoint when none is configured: LUTHIEN_JUDGE_BASE_URL, else the demo upstream."""
    return environ.get("LUTHIEN_JUDGE_BASE_URL") or environ.get("LUTHIEN_DEMO_UPSTREAM_URL") or None


@dataclass(frozen=True)
class ChatResult:
    """A model's answer text, the full response, how long it took and how many attempts it needed."""

    text: str
    response: dict[str, Any]
    latency_ms: float
    attempts: int

    def tokens(self) -> tuple[int | None, int | None]:
        """(input, output) tokens the endpoint reported, whichever API's `usage` names it used."""
        usage = self.response.get("usage")
        if not isinstance(usage, dict):
            return None, None
        return (
            _count(usage.get("prompt_tokens", usage.get("input_tokens"))),
            _count(usage.get("completion_tokens", usage.get("output_tokens"))),
        )


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


def parse_score(text: str) -> tuple[float, str]:
    """The judge's answer read strictly: exactly one JSON object `{"score": <0..1>, "reason": "..."}`.

    Surrounding whitespace and one ```json fence around the whole answer are allowed; anything else
    (prose, two objects, a duplicate key, a missing field, a score out of range) raises
    `ModelCallError`, which the monitor's `on_judge_error` turns into a verdict. No score is ever
    searched for in free text: a judge echoing the arguments it read (`# score: 0`) must not set it.
    """
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced is not None:
        body = fenced.group(1).strip()
    try:
        value = json.loads(body, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        raise ModelCallError(f"judge answer is not one JSON object: {text[:120]!r}") from None
    if not isinstance(value, dict):
        raise ModelCallError(f"judge answer is not a JSON object: {text[:120]!r}")
    score, reason = value.get("score"), value.get("reason")
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        raise ModelCallError(f"judge answer has no numeric score: {text[:120]!r}")
    if not 0.0 <= score <= 1.0:
        raise ModelCallError(f"judge score {score} is outside [0, 1]")
    if not isinstance(reason, str):
        raise ModelCallError(f"judge answer has no string reason: {text[:120]!r}")
    return float(score), reason


class ModelClient:
    """Chat against one endpoint (OpenAI chat or Anthropic Messages), with a timeout and retries."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        model: str,
        *,
        timeout_seconds: float,
        retries: int,
        host: PolicyHost,
        api: str = "openai",
    ) -> None:
        if timeout_seconds <= 0 or retries < 0:
            raise ValueError("timeout_seconds must be > 0 and retries >= 0")
        if api not in APIS:
            raise ValueError(f"api must be one of {APIS}, got {api!r}")
        # Resolved per call when not configured: `luthien up` loads the policy to validate it
        # before the demo upstream's address is in the environment.
        self.configured_base_url = base_url.rstrip("/") if base_url else None
        self.api_key = host.resolve(api_key)
        self.model = model
        self.api = api
        self.timeout = httpx.Timeout(timeout_seconds)
        self.timeout_seconds = timeout_seconds
        self.retries = retries
        self.host = host

    @property
    def base_url(self) -> str | None:
        return self.configured_base_url or default_base_url(self.host.environ)

    def _endpoint(self, base_url: str) -> str:
        if self.api == "openai":
            return f"{base_url}/chat/completions"
        # The Anthropic SDK's base URL has no `/v1`; the demo upstream's (and LiteLLM's) does.
        return f"{base_url}/messages" if base_url.endswith("/v1") else f"{base_url}/v1/messages"

    def _request(self, messages: list[dict[str, Any]], extra: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        headers = {"content-type": "application/json"}
        if self.api == "openai":
            if self.api_key:
                headers["authorization"] = f"Bearer {self.api_key}"
            body = {"model": self.model, "messages": messages, "stream": False, **extra}
            return orjson.dumps(body), headers
        headers["anthropic-version"] = ANTHROPIC_VERSION
        if self.api_key:
            headers["x-api-key"] = self.api_key
        # Messages takes the system prompt beside the turns, not as a turn.
        system = "\n\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
        turns = [m for m in messages if m.get("role") != "system"]
        body = {"model": self.model, "max_tokens": ANTHROPIC_MAX_TOKENS, "messages": turns, **extra}
        return orjson.dumps({**body, "system": system} if system else body), headers

    async def chat(self, messages: list[dict[str, Any]], **extra: Any) -> ChatResult:
        """One completion; raises `ModelCallError` once every attempt failed. Traced as one span
        (`luthien.judge`), a child of the policy's hook or stream that asked."""
        with span(self.host.tracer, JUDGE_SPAN, kind=SpanKind.CLIENT) as judged:
            annotate(judged, {MODEL: self.model, JUDGE_API: self.api})
            result = await self._chat(messages, extra)
            annotate(judged, {ATTEMPTS: result.attempts})
            return result

    async def _chat(self, messages: list[dict[str, Any]], extra: dict[str, Any]) -> ChatResult:
        base_url = self.base_url
        if not base_url:
            raise ModelCallError(f"no endpoint for {self.model}: set base_url or LUTHIEN_JUDGE_BASE_URL")
        body, headers = self._request(messages, extra)
        url = self._endpoint(base_url)
        started = time.perf_counter()
        error = "no attempt made"
        for attempt in range(1, self.retries + 2):
            try:
                response = await self.host.http.get().post(
                    url, content=body, headers=headers, timeout=self.timeout
                )
            except httpx.TimeoutException:
                error = f"timed out after {self.timeout_seconds}s"
                continue
            except httpx.HTTPError as exc:
                error = f"unreachable: {type(exc).__name__}"
                continue
            if response.status_code >= 400:
                error = f"answered {response.status_code}"
                await asyncio.sleep(RETRY_BACKOFF_SECONDS * attempt)
                continue
            try:
                payload = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                error = "answered a body that is not JSON"
                continue
            if not isinstance(payload, dict):
                error = "answered JSON that is not an object"
                continue
            latency = (time.perf_counter() - started) * 1000
            text = _message_text(payload) if self.api == "openai" else _content_text(payload)
            return ChatResult(text, payload, latency, attempt)
        raise ModelCallError(f"model {self.model} at {base_url} {error}")


def _message_text(payload: dict[str, Any]) -> str:
    """An OpenAI chat completion's first choice's text."""
    for choice in payload.get("choices") or ():
        content = (choice.get("message") or {}).get("content") if isinstance(choice, dict) else None
        return content if isinstance(content, str) else ""
    return ""


def _content_text(payload: dict[str, Any]) -> str:
    """An Anthropic Message's text blocks, joined (a thinking block before them is not the answer)."""
    blocks = payload.get("content")
    texts = [
        block.get("text")
        for block in (blocks if isinstance(blocks, list) else ())
        if isinstance(block, dict) and block.get("type") == "text"
    ]
    return "".join(text for text in texts if isinstance(text, str))
