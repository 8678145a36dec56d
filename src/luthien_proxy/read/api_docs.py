"""`/docs`: the interactive API reference, with Swagger UI's files served from the installed
`swagger-ui-bundle` package, so it works on a machine without internet (FastAPI's default page
loads them from a CDN)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from swagger_ui_bundle import swagger_ui_path

router = APIRouter(include_in_schema=False)

#: The only files of the bundle the page needs.
_FILES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"})


@router.get("/docs")
async def api_docs() -> HTMLResponse:
    """Swagger UI over `/openapi.json`."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Luthien control plane — API",
        swagger_js_url="/docs/static/swagger-ui-bundle.js",
        swagger_css_url="/docs/static/swagger-ui.css",
        swagger_favicon_url="/docs/static/favicon-32x32.png",
    )


@router.get("/docs/static/{name}")
async def api_docs_file(name: str) -> FileResponse:
    """One of Swagger UI's own files."""
    if name not in _FILES:
        raise HTTPException(404, detail=f"no API docs file {name!r}")
    return FileResponse(str(swagger_ui_path / name))
