"""`RequestBlocklistPolicy`: refuses requests whose messages match a pattern — cheap, certain cases."""

from __future__ import annotations

import re

from luthien_proxy.model import Request
from luthien_proxy.policies.base import LuthienPolicy, PolicyContext, PolicyRejection


class RequestBlocklistPolicy(LuthienPolicy):
    """Rejects, before the model is called, any request whose text matches a pattern.

    The text is `Request.text()`: every message's parts (history calls and tool results included),
    the tools offered and the system text."""

    def __init__(
        self, patterns: list[str], message: str = "request blocked by policy", status_code: int = 403
    ) -> None:
        if not isinstance(patterns, list) or not patterns:
            raise ValueError("patterns must be a non-empty list of regular expressions")
        if not 400 <= status_code < 500:
            raise ValueError(f"status_code must be a 4xx status, got {status_code}")
        try:
            self.patterns = [re.compile(p) for p in patterns]
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        self.message = message
        self.status_code = status_code

    async def on_request(self, request: Request, ctx: PolicyContext) -> Request | None:
        text = request.text()
        if any(pattern.search(text) for pattern in self.patterns):
            raise PolicyRejection(self.message, self.status_code)
        return None
