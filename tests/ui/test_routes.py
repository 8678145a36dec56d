"""The UI router without a browser: every page and asset served, with the headers that keep it safe."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from luthien_proxy.read import ui
from luthien_proxy.read.ui.assets import assets


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(ui.router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ui") as client:
        yield client


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("/ui", "Luthien — recent calls"),
        ("/ui/conversation?call_id=x", "Luthien — live view"),
        ("/ui/session?trace_id=x", "Luthien — session"),
        ("/ui/hooks/trace?call_id=x", "Luthien — hook records"),
        ("/debug", "Luthien — debug records"),
        ("/debug/hook:async_pre_call_hook", "Luthien — debug records"),
    ],
)
async def test_pages_are_html_with_a_strict_content_security_policy(
    client: httpx.AsyncClient, path: str, title: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert f"<title>{title}</title>" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_every_asset_a_page_references_is_served(client: httpx.AsyncClient) -> None:
    shipped = assets()
    assert {"common.js", "diff.js", "calls.js", "style.css"} <= shipped.keys()
    for name in shipped:
        response = await client.get(f"/ui/static/{name}")
        assert response.status_code == 200, name
        assert response.content == shipped[name].body
    script = await client.get("/ui/static/conversation.js")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"


@pytest.mark.parametrize("name", ["nope.js", "..%2F__init__.py", "assets.py"])
async def test_only_shipped_assets_are_served(client: httpx.AsyncClient, name: str) -> None:
    assert (await client.get(f"/ui/static/{name}")).status_code == 404
