"""ASGI wrapper answering 401 for API calls that carry no credentials at all.

LiteLLM 1.106.12 without a database turns "no api key passed in" into an unhandled 500: its auth error
path calls `PrismaDBExceptionHandler.is_database_infrastructure_error`, which does `import prisma`,
and prisma is not installed. We answer those requests ourselves, before LiteLLM sees them.
"""

from __future__ import annotations

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
            "message": "Authentication Error: no API key passed in. Send 'Authorization: Bearer <key>'.",
            "type": "auth_error",
            "param": None,
            "code": "401",
        }
    }
)


def _has_credentials(scope: Scope) -> bool:
    if any(name in CREDENTIAL_HEADERS and value.strip() for name, value in scope.get("headers", ())):
        return True
    # Google-style clients may pass the key as ?key=...
    return b"key=" in scope.get("query_string", b"")


class MissingCredentialsGuard:
    """Returns an OpenAI-style 401 for guarded HTTP paths when no credential header is present."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...] = GUARDED_PREFIXES) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass everything through except unauthenticated calls to guarded paths."""
        if (
            scope["type"] != "http"
            or not scope.get("path", "").startswith(self.prefixes)
            or _has_credentials(scope)
        ):
            await self.app(scope, receive, send)
            return
        refusal = Response(_BODY, 401, {"www-authenticate": "Bearer"}, media_type="application/json")
        await refusal(scope, receive, send)
