"""Makes LiteLLM's authentication failures a 4xx that says what is wrong, instead of a 500.

LiteLLM 1.106.12 turns an auth failure into the client's answer in one function,
`litellm.proxy.auth.auth_exception_handler._as_proxy_exception`. Without Prisma installed (Luthien's
default: LiteLLM runs database-free) it answers 500 for every failure that is not already an HTTP
error, because it asks `PrismaDBExceptionHandler` whether the database failed, which does
`import prisma`. That covers no key at all, an empty `Authorization: Bearer`, admin routes without a
key, and the `Rejected Request: api_base is not allowed in request body` check (which should be a
400, not an auth error). A wrong key without a database is `400 No connected db.`, which should be
a 401. `install()` wraps that one function; everything else LiteLLM decides stays as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

#: How LiteLLM's request-body check (`auth_utils.is_request_body_safe`) words a refusal.
REJECTED_BODY_PREFIX = "Rejected Request"
WRONG_KEY = (
    "Authentication Error: the API key is not valid. Without LITELLM_DATABASE_URL this proxy has no "
    "key database, so only its master key (LITELLM_MASTER_KEY) is accepted."
)


def _fixed(convert: Callable[[Exception], Exception]) -> Callable[[Exception], Exception]:
    from litellm.proxy._types import ProxyErrorTypes, ProxyException

    def as_proxy_exception(e: Exception) -> Exception:
        """LiteLLM's conversion, with 4xx answers where it would say the wrong thing or crash."""
        if isinstance(e, ValueError) and str(e).startswith(REJECTED_BODY_PREFIX):
            # e.g. api_base, base_url or vertex_credentials in the body: it would redirect the call
            # or smuggle credentials, so it is the request that is wrong, not its key.
            return ProxyException(message=str(e), type="invalid_request_error", param=None, code=400)
        if isinstance(e, ProxyException) and e.type == ProxyErrorTypes.no_db_connection:
            return ProxyException(message=WRONG_KEY, type=ProxyErrorTypes.auth_error, param=None, code=401)
        try:
            return convert(e)
        except ModuleNotFoundError as missing:
            if missing.name != "prisma":
                raise
            # No database, so no database error: what LiteLLM answers when it can check.
            message = f"Authentication Error, {e}"
            return ProxyException(message=message, type=ProxyErrorTypes.auth_error, param=None, code=401)

    return as_proxy_exception


def install() -> bool:
    """Wrap LiteLLM's auth-failure conversion once; False (logged) if this LiteLLM has no such function."""
    from litellm.proxy.auth import auth_exception_handler as handler

    current = getattr(handler, "_as_proxy_exception", None)
    if current is None:
        log.warning("LiteLLM has no auth_exception_handler._as_proxy_exception; auth errors are left as is")
        return False
    if getattr(current, "__luthien__", False):
        return True
    fixed = _fixed(current)
    fixed.__luthien__ = True  # type: ignore[attr-defined]
    handler._as_proxy_exception = fixed  # pyright: ignore[reportPrivateUsage]
    return True
