"""ASGI wrapper that lets a request reach LiteLLM only if the route LiteLLM would run is policed or served.

The gate asks LiteLLM's own route table which route a request matches (first full match, in the
table's order, as Starlette dispatches), so an alias, a path parameter or a route added later is
judged by the endpoint it reaches, not by its spelling. A path that matches nothing yet but would
make LiteLLM load a lazy feature (`litellm.proxy._lazy_features`) is judged by that feature's
module. Decisions are cached per (scope type, method, path) until the table changes, so the chat
route costs a dict lookup.
"""

from __future__ import annotations

import enum
from typing import Any

import orjson
from fastapi.routing import iter_route_contexts
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from luthien_proxy.doors.litellm.callback.litellm_routes import (
    POLICED_ENDPOINTS,
    Verdict,
    classify,
    route_key,
)
from luthien_proxy.wire import CLOSE_POLICY_VIOLATION

_ADMITTED = (Verdict.POLICED, Verdict.SERVED)


class _Unmatched(enum.Enum):
    NO_ROUTE = "no route"


#: The decision for a path no route matches: LiteLLM answers it (404, 405) without running anything.
NO_ROUTE = _Unmatched.NO_ROUTE
#: A route's verdict (None: unclassified), or NO_ROUTE.
Decision = Verdict | _Unmatched | None
_CACHE_MAX = 4096


def _lazy_features() -> tuple[Any, ...]:
    try:
        from litellm.proxy._lazy_features import LAZY_FEATURES
    except ImportError:  # a LiteLLM without lazy routes: its table is complete from the start
        return ()
    return tuple(LAZY_FEATURES)


def load_policed_features(litellm_app: Any) -> None:
    """Register now the lazy LiteLLM features that hold a policed route (`/v1/messages`), so the gate
    judges their requests by the route itself: a feature still pending is judged by its module,
    which may hold routes no policy sees. LITELLM_DISABLE_LAZY_ROUTES registers them all anyway."""
    try:
        from litellm.proxy._lazy_features import LAZY_FEATURES, lazy_routes_disabled, register_all_features
    except ImportError:  # a LiteLLM without lazy routes
        return
    if lazy_routes_disabled():
        return
    modules = {key.partition(":")[0] for key in POLICED_ENDPOINTS}
    loaded = getattr(litellm_app.state, "lazy_loaded", set())
    features = tuple(f for f in LAZY_FEATURES if f.module_path in modules and f.module_path not in loaded)
    if features:
        register_all_features(litellm_app, features)


def refusal_message(method: str, path: str, verdict: Verdict | None) -> str:
    """What a refused client reads: the route, why, and what to use instead."""
    why = "is not policed yet" if verdict is Verdict.REFUSED else "is a LiteLLM route not classified yet"
    return (
        f"Luthien refuses {method} {path}: this route {why}, so the LiteLLM door does not serve it. "
        "Only the OpenAI chat (POST /v1/chat/completions), Anthropic Messages (POST /v1/messages) and "
        "OpenAI Responses (POST /v1/responses) dialects are policed; see docs/litellm.md#routes."
    )


class RouteGate:
    """Answers 403 (HTTP) or closes with 1008 (WebSocket) for every route not policed or served."""

    def __init__(self, app: ASGIApp, litellm_app: Any) -> None:
        self.app = app
        self._litellm = litellm_app  # the FastAPI app whose route table decides
        self._lazy = _lazy_features()
        self._decisions: dict[tuple[str, str, str], Decision] = {}
        self._table: tuple[int, int] = (-1, -1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass admitted requests (and lifespan events) through; refuse the rest."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        verdict = self.decide(scope)
        if verdict in _ADMITTED or verdict is NO_ROUTE:
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "WEBSOCKET")
        message = refusal_message(method, scope.get("path", ""), None if verdict is NO_ROUTE else verdict)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": CLOSE_POLICY_VIOLATION, "reason": message[:120]})
            return
        body = {
            "type": "error",  # so Anthropic clients read it too
            "error": {"message": message, "type": "permission_error", "param": None, "code": "403"},
        }
        await Response(orjson.dumps(body), 403, media_type="application/json")(scope, receive, send)

    def decide(self, scope: Scope) -> Decision:
        """The verdict for the route LiteLLM would run for `scope` (None: unclassified), or `NO_ROUTE`."""
        table = (len(self._litellm.router.routes), len(getattr(self._litellm.state, "lazy_loaded", ())))
        if table != self._table or len(self._decisions) > _CACHE_MAX:
            self._decisions.clear()
            self._table = table
        key = (scope["type"], scope.get("method", ""), scope.get("path", ""))
        if key not in self._decisions:
            self._decisions[key] = self._scan(scope)
        return self._decisions[key]

    def _scan(self, scope: Scope) -> Decision:
        probe = {
            "type": scope["type"],
            "path": scope.get("path", ""),
            "method": scope.get("method", ""),
            "root_path": scope.get("root_path", ""),
        }
        for route in iter_route_contexts(self._litellm.router.routes):
            match, _ = route.matches(dict(probe))
            if match is Match.FULL:
                return classify(route_key(route))
        loaded = getattr(self._litellm.state, "lazy_loaded", set())
        pending = [f for f in self._lazy if f.module_path not in loaded and f.matches(probe["path"])]
        if pending:
            # LiteLLM will load these features for this request; admit only if all are served.
            verdicts = {classify(f"{feature.module_path}:") for feature in pending}
            return Verdict.SERVED if verdicts == {Verdict.SERVED} else Verdict.REFUSED
        return NO_ROUTE
