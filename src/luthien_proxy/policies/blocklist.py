"""`RequestBlocklistPolicy`: refuses requests whose messages match a pattern — cheap, certain cases."""

from __future__ import annotations

import re
from typing import Any

from luthien_proxy.policies.base import LuthienPolicy, PolicyContext, PolicyRejection
from luthien_proxy.policies.request_text import request_text


class RequestBlocklistPolicy(LuthienPolicy):
    """Rejects, before the model is called, any request whose text (`request_text`) matches a pattern."""

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

    async def on_request(self, request: dict[str, Any], ctx: PolicyContext) -> dict[str, Any] | None:
        text = request_text(request)
        if any(pattern.search(text) for pattern in self.patterns):
            raise PolicyRejection(self.message, self.status_code)
        return None
