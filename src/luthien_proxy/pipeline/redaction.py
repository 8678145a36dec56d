"""Removes secrets from anything before it is stored, published or handed to a policy.

Redaction is by key name, so message content is never altered: headers such as `Authorization`,
LiteLLM's `secret_fields`, virtual keys (`user_api_key`, `token`) and any `*api_key` field.
"""

from __future__ import annotations

from typing import Any

REDACTED = "[REDACTED]"

_SECRET_KEYS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "secret_fields",
        "user_api_key",
        "user_api_key_hash",
        "token",
        "master_key",
        "x-luthien-proxy-token",
        "cookie",
        "set-cookie",
    }
)


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in _SECRET_KEYS or lowered.endswith(("api_key", "api-key", "_secret", "password"))


def redact(value: Any) -> Any:
    """A copy of `value` with every secret-named field's value replaced by `REDACTED`."""
    if isinstance(value, dict):
        return {
            key: (REDACTED if isinstance(key, str) and is_secret_key(key) and item else redact(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value
