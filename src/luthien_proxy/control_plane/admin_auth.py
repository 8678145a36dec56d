"""Admin access to what exposes prompts (read APIs, live streams, UI) when `LUTHIEN_ADMIN_KEY` is set.

APIs take `Authorization: Bearer <key>`; browsers log in once through a form and get an HttpOnly
session cookie that holds a keyed hash of the key, never the key itself. Comparisons are constant
time, and the key never travels in a URL.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

SESSION_COOKIE = "luthien_session"
_SESSION_CONTEXT = b"luthien-ui-session-v1"


def session_token(admin_key: str) -> str:
    return hmac.new(admin_key.encode(), _SESSION_CONTEXT, hashlib.sha256).hexdigest()


def _admin_key(request: Request) -> str | None:
    return request.app.state.services.settings.admin_key


def is_admin(request: Request) -> bool:
    key = _admin_key(request)
    if key is None:
        return True
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer " and hmac.compare_digest(header[7:].encode(), key.encode()):
        return True
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), session_token(key).encode())


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
    form = parse_qs((await request.body())[:4096].decode(errors="replace"))
    supplied = (form.get("key") or [""])[0]
    next_path = _safe_next((form.get("next") or [None])[0])
    key = _admin_key(request)
    if key is None:
        return RedirectResponse(next_path, status_code=303)
    if not hmac.compare_digest(supplied.encode(), key.encode()):
        return HTMLResponse(_login_page(next_path, "That is not the admin key."), status_code=401)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_token(key),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
async def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
