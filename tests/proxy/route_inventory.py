"""Prints, as JSON, every route the real LiteLLM app serves, with its verdict and the gate's decision.

Run as `python -m tests.proxy.route_inventory` (a child process: importing LiteLLM's proxy and loading
every lazy feature costs ~350 MB, which the test process should not keep). Every lazy feature is
registered first, as LITELLM_DISABLE_LAZY_ROUTES would, so the table is the complete one.
"""

from __future__ import annotations

import re
import sys

import orjson

from luthien_proxy.doors.litellm.callback.launcher import apply_offline_env

SAMPLE_PARAM = re.compile(r"\{[^}:]+(:[^}]+)?\}")


def inventory() -> list[dict[str, object]]:
    """One entry per route: path, methods, scope type, key, verdict, and the gate's decision for a
    concrete path the route matches."""
    apply_offline_env()
    from fastapi.routing import iter_route_contexts
    from litellm.proxy._lazy_features import register_all_features
    from litellm.proxy.proxy_server import app

    from luthien_proxy.doors.litellm.callback.litellm_routes import classify, route_key
    from luthien_proxy.doors.litellm.callback.route_gate import NO_ROUTE, RouteGate

    register_all_features(app)
    gate = RouteGate(app, app)
    routes = []
    for route in iter_route_contexts(app.router.routes):
        original = type(route.original_route).__name__
        kind = "websocket" if "WebSocket" in original else "http"
        methods = sorted(route.methods or ["GET"])
        path = str(route.path)
        sample = SAMPLE_PARAM.sub("x", path) + ("/x" if original == "Mount" else "")
        decision = gate.decide({"type": kind, "path": sample, "method": methods[0]})
        verdict = classify(route_key(route))
        routes.append(
            {
                "path": path,
                "methods": methods,
                "kind": kind,
                "key": route_key(route),
                "verdict": verdict.value if verdict else None,
                "gate": "no route" if decision is NO_ROUTE else getattr(decision, "value", None),
            }
        )
    return routes


if __name__ == "__main__":
    sys.stdout.buffer.write(orjson.dumps(inventory()))
