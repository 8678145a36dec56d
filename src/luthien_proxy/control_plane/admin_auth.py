"""Admin access to what exposes prompts (read APIs, live streams, UI) when `LUTHIEN_ADMIN_KEY` is set.

APIs take `Authorization: Bearer <key>`; browsers log in once through a form and get an HttpOnly
session cookie (see admin_sessions.py) that expires and that logout revokes; it never holds the key.
Comparisons are constant time, the key never travels in a URL, and failed logins are rate limited
per client address.
"""

from __future__ import annotations

import hmac
import math
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from luthien_proxy.control_plane.admin_sessions import AdminSessions
from luthien_proxy.web.client_address import client_address
from luthien_proxy.web.rate_limiter import TokenBucketLimiter
from luthien_proxy.web.request_body import read_body

SESSION_COOKIE = "luthien_session"
#: Failed logins allowed per client address per minute, beyond which `/login` answers 429.
LOGIN_FAILURES_PER_MINUTE = 10
#: A login form is a key and a path; anything bigger is refused before it is read.
LOGIN_MAX_BODY_BYTES = 4096


def login_failures() -> TokenBucketLimiter:
    """The limiter `create_app` puts on `app.state.login_failures`."""
    return TokenBucketLimiter(LOGIN_FAILURES_PER_MINUTE, LOGIN_FAILURES_PER_MINUTE / 60)


def _admin_key(request: Request) -> str | None:
    return request.app.state.services.settings.admin_key


def _sessions(request: Request) -> AdminSessions:
    return request.app.state.admin_sessions


def is_admin(request: Request) -> bool:
    key = _admin_key(request)
    if key is None:
        return True
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer " and hmac.compare_digest(header[7:].encode(), key.encode()):
        return True
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return bool(cookie) and _sessions(request).valid(key, cookie)


def require_admin(request: Request) -> None:
    """For APIs and live streams: 401 unless the admin key (or a UI session) is presented."""
    if not is_admin(request):
        raise HTTPException(
            401,
            detail="admin key required: send Authorization: Bearer <LUTHIEN_ADMIN_KEY>",
            headers={"WWW-Authenticate": "Bearer"},
        )


def require_admin_page(request: Request) -> None:
    """For UI pages: send a browser without a session to the login form."""
    if not is_admin(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(
            303, detail="login required", headers={"Location": f"/login?next={quote(target)}"}
        )


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect would let a link send users anywhere after login.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/ui"


def _login_page(next_path: str, error: str = "") -> str:
    from html import escape

    message = f'<p class="error">{escape(error)}</p>' if error else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Luthien — log in</title>
<style>body{{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}}
input{{width:100%;padding:.5rem;margin:.5rem 0;box-sizing:border-box}}.error{{color:#b00020}}</style></head>
<body><h1>Luthien control plane</h1><p>This instance requires the admin key (LUTHIEN_ADMIN_KEY).</p>{message}
<form method="post" action="/login"><input type="hidden" name="next" value="{escape(next_path)}">
<label>Admin key <input type="password" name="key" autocomplete="current-password" autofocus></label>
<button type="submit">Log in</button></form></body></html>"""


router = APIRouter(tags=["access"], include_in_schema=False)


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return HTMLResponse(_login_page(_safe_next(next)))


@router.post("/login")
async def login(request: Request) -> Response:
    key = _admin_key(request)
    failures: TokenBucketLimiter = request.app.state.login_failures
    client = client_address(request)
    # Refused before the body is read: a client guessing keys costs no more than this check.
    if key is not None and (wait := math.ceil(failures.wait(client))):
        message = f"Too many failed logins from {client}; try again in {wait} s."
        return HTMLResponse(_login_page("/ui", message), status_code=429, headers={"Retry-After": str(wait)})
    form = parse_qs((await read_body(request, LOGIN_MAX_BODY_BYTES)).decode(errors="replace"))
    supplied = (form.get("key") or [""])[0]
    next_path = _safe_next((form.get("next") or [None])[0])
    if key is None:
        return RedirectResponse(next_path, status_code=303)
    if not hmac.compare_digest(supplied.encode(), key.encode()):
        failures.acquire(client)
        return HTMLResponse(_login_page(next_path, "That is not the admin key."), status_code=401)
    sessions = _sessions(request)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        sessions.issue(key),
        max_age=int(sessions.ttl_seconds),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Revoke the session (so a copy of the cookie stops working too) and drop the cookie."""
    key, cookie = _admin_key(request), request.cookies.get(SESSION_COOKIE)
    if key is not None and cookie:
        _sessions(request).revoke(key, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
