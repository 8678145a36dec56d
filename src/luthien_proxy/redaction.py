"""What is secret, in one place: the credential names providers use and the shapes secrets take.

Two rules, applied to what is stored, published or logged, never to what is forwarded:
- by name, where names mean credentials (headers, metadata, LiteLLM's and the providers' request
  parameters): `Authorization`, `api_key`, `vertex_credentials`, any name ending in token, secret,
  password, ... Inside content (messages, tool and function schemas, `response_format`, model
  output) a name is the user's, not a credential (a tool may well have a `password` parameter).
- by shape, everywhere: `sk-…` keys, AWS key ids, PEM private keys, JWTs, `Bearer <token>`. Only
  the secret-shaped substring is replaced.

The secret names themselves are in `luthien_proxy.wire` (the callback drops them before sending).
Stdlib only: the LiteLLM callback imports this module, and must stay cheap to import.
"""

from __future__ import annotations

import re
from typing import Any, cast

import orjson

from luthien_proxy.wire import CONTENT_KEYS, SECRET_NAMES, SECRET_SUFFIXES

REDACTED = "[REDACTED]"


def is_secret_name(key: str) -> bool:
    """Whether a field or header called `key` holds a credential."""
    lowered = key.lower()
    return lowered in SECRET_NAMES or lowered.endswith(SECRET_SUFFIXES)


# Shapes: each starts with a literal, which both keeps `re` fast (it scans for the literal) and
# lets text without any of the literals skip every search (the common case: a few substring checks).
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_BEARER_TOKEN = r"[ \t]+(?P<secret>[A-Za-z0-9._~+/=-]*[0-9][A-Za-z0-9._~+/=-]*)"
#: (literal the text must contain, pattern, characters that may not precede a match)
_SHAPES: tuple[tuple[str, re.Pattern[str], frozenset[str]], ...] = (
    (
        "PRIVATE KEY-----",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|.*)",
            re.DOTALL,
        ),
        frozenset(),
    ),
    ("sk-", re.compile(r"sk-[A-Za-z0-9_-]{16,}"), _WORD),
    ("AKIA", re.compile(r"AKIA[A-Z0-9]{16}(?![A-Za-z0-9])"), _WORD),
    ("ASIA", re.compile(r"ASIA[A-Z0-9]{16}(?![A-Za-z0-9])"), _WORD),
    ("eyJ", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), _WORD),
    ("AIza", re.compile(r"AIza[A-Za-z0-9_-]{30,}"), _WORD),
    ("ghp_", re.compile(r"ghp_[A-Za-z0-9]{30,}"), _WORD),
    ("github_pat_", re.compile(r"github_pat_[A-Za-z0-9_]{30,}"), _WORD),
    ("earer", re.compile("[Bb]earer" + _BEARER_TOKEN), _WORD),
)
_HINTS = tuple(hint for hint, _, _ in _SHAPES)
#: One C-level scan for any hint: faster than a substring check per hint on the per-chunk path.
_ANY_HINT = re.compile("|".join(map(re.escape, _HINTS)))
_ANY_ENCODED_HINT = re.compile(b"|".join(re.escape(hint.encode()) for hint in _HINTS))
#: The shortest text that can hold a secret of any shape above.
_SHORTEST = 16


def redact_text(text: str) -> str:
    """`text` with every secret-shaped substring replaced by `REDACTED` (a bearer token keeps its
    `Bearer ` prefix)."""
    if len(text) < _SHORTEST or _ANY_HINT.search(text) is None:
        return text  # the common case: one C-level pass over the hints
    for hint, pattern, not_after in _SHAPES:
        if hint in text:
            text = pattern.sub(_replacer(text, not_after), text)
    return text


def _replacer(text: str, not_after: frozenset[str]) -> Any:
    def replace(match: re.Match[str]) -> str:
        start = match.start()
        if start and text[start - 1] in not_after:
            return match.group(0)  # part of a longer word (`task-…`), not a key
        if "secret" in match.re.groupindex:
            return match.group(0)[: match.start("secret") - start] + REDACTED
        return REDACTED

    return replace


def redact_encoded(encoded: bytes) -> bytes:
    """A JSON document (as sent, e.g. a stream chunk) with secret-shaped text redacted."""
    if _ANY_ENCODED_HINT.search(encoded) is None:
        return encoded
    return orjson.dumps(_redact(orjson.loads(encoded), names=False))


def redact(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy of `payload` (a hook payload or a record) redacted by name and by shape.

    The original is not touched: it is what the policy sees and what is forwarded.
    """
    return {_key(key): _redact_field(key, item, names=True) for key, item in payload.items()}


def without_credentials(value: Any) -> Any:
    """A copy of `value` with credential-named fields outside content replaced, nothing else: for
    an answer whose content must stay exactly as sent (the hook API's result, which the callback
    forwards), but that has no reason to hand credentials back."""
    if isinstance(value, dict):
        return {key: _without_credential(key, item) for key, item in cast("dict[Any, Any]", value).items()}
    if isinstance(value, list):
        return [without_credentials(item) for item in cast("list[Any]", value)]
    return value


def _without_credential(key: Any, item: Any) -> Any:
    if not isinstance(key, str):
        return without_credentials(item)
    if key in CONTENT_KEYS:
        return item
    return REDACTED if item and is_secret_name(key) else without_credentials(item)


def _key(key: Any) -> Any:
    return redact_text(key) if isinstance(key, str) else key


def _redact_field(key: Any, item: Any, names: bool) -> Any:
    if isinstance(key, str):
        if key in CONTENT_KEYS:
            return _redact(item, names=False)
        if names and item and is_secret_name(key):
            return REDACTED
    return _redact(item, names)


def _redact(value: Any, names: bool) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            _key(key): _redact_field(key, item, names) for key, item in cast("dict[Any, Any]", value).items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item, names) for item in cast("list[Any] | tuple[Any, ...]", value)]
    return value
