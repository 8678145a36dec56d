"""ASGI wrapper answering 401 for model calls that carry no key, and 400 for a key in the URL.

LiteLLM 1.106.12 without a database turns "no api key passed in" into a 500 (`auth_errors` explains
and fixes that for every route); on the model routes we answer before LiteLLM even parses the body.
A key in the query string (`?key=`, which LiteLLM honours on Google-style routes) is refused: URLs
are logged and recorded, so the key would be stored.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

# Every header LiteLLM's user_api_key_auth reads a key from (SpecialHeaders), lower-case bytes.
CREDENTIAL_HEADERS = frozenset(
    {
        b"authorization",
        b"api-key",
        b"x-api-key",
        b"x-goog-api-key",
        b"ocp-apim-subscription-key",
        b"x-litellm-api-key",
    }
)
# The model-serving surface; admin/UI routes are left to LiteLLM.
GUARDED_PREFIXES = (
    "/v1/",
    "/chat/",
    "/completions",
    "/embeddings",
    "/models",
    "/responses",
    "/messages",
    "/engines/",
    "/openai/",
)
_BODY = orjson.dumps(
    {
        "error": {
            "message": "Authentication Error: no API key passed in (an 'Authorization: Bearer' header "
            "with no key counts as none). Send 'Authorization: Bearer <key>'.",
            "type": "auth_error",
            "param": None,
            "code": "401",
        }
    }
)


#: Query parameters that carry a key: refused on model routes, since URLs end up in logs and records.
URL_KEY_PARAMS = frozenset({"key", "api_key", "api-key", "apikey"})
_URL_KEY_BODY = orjson.dumps(
    {
        "error": {
            "message": "API keys in the URL are refused (URLs end up in logs and records): remove the "
            "'key' query parameter and send 'Authorization: Bearer <key>'.",
            "type": "invalid_request_error",
            "param": "key",
            "code": "400",
        }
    }
)


def _credential(name: bytes, value: bytes) -> bytes:
    """The key a credential header carries: `Authorization: Bearer` with nothing after it has none."""
    value = value.strip()
    if name == b"authorization":
        scheme, _, rest = value.partition(b" ")
        if scheme.lower() == b"bearer":
            return rest.strip()
    return value


def _has_credentials(scope: Scope) -> bool:
    return any(
        name in CREDENTIAL_HEADERS and _credential(name, value) for name, value in scope.get("headers", ())
    )


def _key_in_url(scope: Scope) -> bool:
    query = scope.get("query_string", b"")
    if b"key" not in query.lower():
        return False
    names = (name.lower() for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True))
    return any(name in URL_KEY_PARAMS for name in names)


class MissingCredentialsGuard:
    """Returns an OpenAI-style 401 for guarded HTTP paths when no credential header carries a key,
    and a 400 when the URL carries one."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...] = GUARDED_PREFIXES) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass everything through except unauthenticated calls to guarded paths."""
        if scope["type"] != "http" or not scope.get("path", "").startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        if _key_in_url(scope):
            await Response(_URL_KEY_BODY, 400, media_type="application/json")(scope, receive, send)
            return
        if _has_credentials(scope):
            await self.app(scope, receive, send)
            return
        refusal = Response(_BODY, 401, {"www-authenticate": "Bearer"}, media_type="application/json")
        await refusal(scope, receive, send)
