"""Removes secrets from anything before it is stored, published or handed to a policy.

Redaction is by key name, so message content is never altered: headers such as `Authorization`,
LiteLLM's `secret_fields`, virtual keys (`user_api_key`, `token`), and any field or header whose
name ends in api_key, secret, password or token (`x-custom-token`, `access_token`).
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


_SECRET_SUFFIXES = ("api_key", "api-key", "apikey", "secret", "password", "token")
#: Model output is never redacted: a response is returned to the client after the policy runs,
#: and output fields such as logprobs' `token` are content, not credentials.
_MODEL_OUTPUT_KEYS = frozenset({"response"})


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in _SECRET_KEYS or lowered.endswith(_SECRET_SUFFIXES)


def redact(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy of a hook payload with every secret-named field's value replaced by `REDACTED`."""
    return {
        key: item if key in _MODEL_OUTPUT_KEYS else _redact_value(key, item) for key, item in payload.items()
    }


def _redact_value(key: Any, item: Any) -> Any:
    if isinstance(key, str) and is_secret_key(key) and item:
        return REDACTED
    return _redact(item)


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _redact_value(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value
