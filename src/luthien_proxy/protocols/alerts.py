"""`AlertSender`: POSTs protocol alerts to webhooks in the background, never delaying the client.

Each alert is one bounded background task (at most `max_pending` at a time; beyond that an alert
is dropped and the drop recorded) with a per-attempt timeout and retries. A webhook that still
fails is recorded on the call as an `alert_failed` decision.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from luthien_proxy.policies.base import PolicyContext
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.protocols.config_section import ConfigSection
from luthien_proxy.protocols.judge import RETRY_BACKOFF_SECONDS


class AlertSender(ConfigSection):
    """Delivers alerts to `webhooks` through the host's HTTP client."""

    section = "alerts"

    def __init__(
        self,
        webhooks: list[str] | None = None,
        timeout_seconds: float = 2.0,
        retries: int = 2,
        max_pending: int = 100,
        *,
        host: PolicyHost,
    ) -> None:
        if not isinstance(webhooks, list | None) or any(not isinstance(w, str) for w in webhooks or ()):
            raise ValueError("alerts.webhooks must be a list of URLs")
        if timeout_seconds <= 0 or retries < 0 or max_pending < 1:
            raise ValueError("alerts need timeout_seconds > 0, retries >= 0, max_pending >= 1")
        super().__init__(host=host)
        self.webhooks = list(webhooks or [])
        self.retries = retries
        self.max_pending = max_pending
        self.timeout = httpx.Timeout(timeout_seconds)
        self.pending: set[asyncio.Task[None]] = set()

    def _expand(self, url: str) -> str:
        """Expand `${NAME}` references (e.g. `${LUTHIEN_DEMO_UPSTREAM_URL}/alerts`) at send time."""
        expanded = self.host.expand(url)
        if "$" in expanded:
            raise ValueError(f"webhook {url!r} refers to an unset environment variable")
        return expanded

    def send(self, alert: dict[str, Any], ctx: PolicyContext) -> None:
        """Schedule delivery of `alert` to every webhook; returns at once."""
        for url in self.webhooks:
            if len(self.pending) >= self.max_pending:
                ctx.record_decision({"action": "alert_dropped", "webhook": url, "reason": "too many pending"})
                continue
            task = asyncio.create_task(self._deliver(url, alert, ctx))
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)

    async def _deliver(self, url: str, alert: dict[str, Any], ctx: PolicyContext) -> None:
        error = "no attempt made"
        for attempt in range(self.retries + 1):
            try:
                response = await self.host.http.get().post(
                    self._expand(url), json=alert, timeout=self.timeout
                )
                if response.status_code < 400:
                    return
                error = f"answered {response.status_code}"
            except (httpx.HTTPError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(RETRY_BACKOFF_SECONDS * (attempt + 1))
        ctx.record_decision(
            {
                "action": "alert_failed",
                "protocol": alert.get("protocol"),
                "webhook": url,
                "error": error,
                "attempts": self.retries + 1,
            }
        )

    async def drain(self) -> None:
        """Wait for every pending delivery (tests, shutdown)."""
        while self.pending:
            await asyncio.gather(*list(self.pending), return_exceptions=True)
