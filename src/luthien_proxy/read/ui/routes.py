"""Routes serving the UI pages and their scripts and styles; the pages fetch all data themselves."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from luthien_proxy.read.ui.assets import Asset, asset, page

router = APIRouter(tags=["ui"], include_in_schema=False)

# The pages load only their own scripts and styles and talk only to this origin; the policy also
# stops any model text that slipped past escaping from running as script.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _respond(found: Asset) -> Response:
    return Response(found.body, media_type=found.media_type, headers=_SECURITY_HEADERS)


def _serve(name: str) -> Response:
    """The named static file with the UI's security headers; 404 when it is not shipped."""
    found = asset(name)
    if found is None:
        raise HTTPException(404, detail=f"no UI file {name!r}")
    return _respond(found)


@router.get("/")
async def root() -> RedirectResponse:
    """The control plane's address leads to the UI."""
    return RedirectResponse("/ui", status_code=307)


@router.get("/ui")
async def index_page() -> Response:
    """Recent calls and traces."""
    return _respond(page("recent calls", "index.js"))


@router.get("/ui/static/{name}")
async def static_file(name: str) -> Response:
    """A script, style sheet or icon used by the pages."""
    return _serve(name)


@router.get("/ui/hooks/trace")
async def hook_trace_page() -> Response:
    """One call's hook records in order, with timing (`?call_id=`)."""
    return _respond(page("hook records", "hook_trace.js"))


@router.get("/ui/conversation")
async def conversation_page() -> Response:
    """The live view of one call (`?call_id=`)."""
    return _respond(page("live view", "conversation.js"))


@router.get("/ui/session")
async def session_page() -> Response:
    """A trace (an agent's session) as one timeline of its turns and decisions (`?trace_id=`)."""
    return _respond(page("session", "session.js"))


@router.get("/ui/conversation/by_trace")
async def trace_conversation_page(request: Request) -> RedirectResponse:
    """The old address of a trace's page: the session timeline, with the same query (the trace id)."""
    query = request.url.query
    return RedirectResponse(f"/ui/session?{query}" if query else "/ui/session", status_code=307)


@router.get("/ui/audits")
async def audits_page() -> Response:
    """The audit queue: held tool calls waiting for a person's decision, live, and recent decisions
    (`#<item id>` highlights one item: the address the webhook links to)."""
    return _respond(page("audit queue", "audits.js"))


@router.get("/debug")
async def debug_types_page() -> Response:
    """Debug record types with counts."""
    return _respond(page("debug records", "debug.js"))


@router.get("/debug/{debug_type:path}")
async def debug_records_page(debug_type: str) -> Response:
    """One debug type's records, paged; the page reads the type from its own URL."""
    return _respond(page("debug records", "debug.js"))
