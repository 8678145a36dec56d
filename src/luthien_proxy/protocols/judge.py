"""`ModelClient`: a trusted (or untrusted) model reached directly over an OpenAI-compatible endpoint.

Calls go straight to the endpoint, never through the proxy, so a protocol's own model calls are
never policed by the protocol that made them. Requests go through the host's one persistent
HTTP client, each with this model's timeout.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from luthien_proxy.policies.host import PolicyHost

RETRY_BACKOFF_SECONDS = 0.05
_SCORE = re.compile(r"score\s*[:=]\s*\"?([0-9]*\.?[0-9]+)", re.IGNORECASE)
_REASON = re.compile(r"reason\s*[:=]\s*(.+)", re.IGNORECASE)


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


def parse_score(text: str) -> tuple[float, str]:
    """Read `SCORE: <0..1>` (and `REASON: ...`) or JSON `{"score": ..., "reason": ...}`; clamps to [0, 1]."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, dict) and isinstance(value.get("score"), (int, float)):
        return min(max(float(value["score"]), 0.0), 1.0), str(value.get("reason", ""))
    match = _SCORE.search(text)
    if match is None:
        raise ModelCallError(f"judge answer has no score: {text[:120]!r}")
    reason = _REASON.search(text)
    return min(max(float(match.group(1)), 0.0), 1.0), reason.group(1).strip() if reason else ""


class ModelClient:
    """Chat completions against one OpenAI-compatible endpoint, with a timeout and retries."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        model: str,
        *,
        timeout_seconds: float,
        retries: int,
        host: PolicyHost,
    ) -> None:
        if timeout_seconds <= 0 or retries < 0:
            raise ValueError("timeout_seconds must be > 0 and retries >= 0")
        # Resolved per call when not configured: `luthien up` loads the policy to validate it
        # before the demo upstream's address is in the environment.
        self.configured_base_url = base_url.rstrip("/") if base_url else None
        self.api_key = host.resolve(api_key)
        self.model = model
        self.timeout = httpx.Timeout(timeout_seconds)
        self.timeout_seconds = timeout_seconds
        self.retries = retries
        self.host = host

    @property
    def base_url(self) -> str | None:
        return self.configured_base_url or default_base_url(self.host.environ)

    async def chat(self, messages: list[dict[str, Any]], **extra: Any) -> ChatResult:
        """One completion; raises `ModelCallError` once every attempt failed."""
        headers = {"content-type": "application/json"}
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        body = orjson.dumps({"model": self.model, "messages": messages, "stream": False, **extra})
        started = time.perf_counter()
        base_url = self.base_url
        if not base_url:
            raise ModelCallError(f"no endpoint for {self.model}: set base_url or LUTHIEN_JUDGE_BASE_URL")
        error = "no attempt made"
        for attempt in range(1, self.retries + 2):
            try:
                response = await self.host.http.get().post(
                    f"{base_url}/chat/completions", content=body, headers=headers, timeout=self.timeout
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
            latency = (time.perf_counter() - started) * 1000
            return ChatResult(_message_text(payload), payload, latency, attempt)
        raise ModelCallError(f"model {self.model} at {base_url} {error}")


def _message_text(payload: Any) -> str:
    for choice in payload.get("choices") or () if isinstance(payload, dict) else ():
        content = (choice.get("message") or {}).get("content")
        return content if isinstance(content, str) else ""
    return ""
