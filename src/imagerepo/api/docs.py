"""The API docs (`/docs`, Swagger UI; `/redoc`, ReDoc), served with no network access.

Their scripts and styles come from the `fastapi-offline` package (a maintained bundle of the
Swagger UI and ReDoc builds) and are served by this server; the start-up script is a file of
ours rather than the inline `<script>` FastAPI writes, so the pages run under a Content-Security-
Policy that allows no inline script at all.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/static/docs"
OWN_ASSETS_URL = "/static/api"
_BUNDLE = Path(fastapi_offline.__file__).parent / "static"
_OWN = Path(__file__).parent / "static"

DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:;"
    " frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_HEADERS = {
    "Content-Security-Policy": DOCS_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _page(title: str, head: str, body: str) -> HTMLResponse:
    html = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<link rel="icon" href="{ASSETS_URL}/favicon.png">{head}</head>'
        f"<body>{body}</body></html>"
    )
    return HTMLResponse(html, headers=_HEADERS)


def mount(app: FastAPI) -> None:
    """Add `/docs`, `/redoc` and their assets to `app` (whose own docs routes are off)."""
    openapi_url = escape(app.openapi_url or "/openapi.json")
    app.mount(ASSETS_URL, StaticFiles(directory=_BUNDLE), name="docs-assets")
    app.mount(OWN_ASSETS_URL, StaticFiles(directory=_OWN), name="api-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return _page(
            f"{app.title} API",
            f'<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">',
            f'<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>'
            f'<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>'
            f'<script src="{OWN_ASSETS_URL}/docs-init.js"></script>',
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _page(
            f"{app.title} API",
            "",
            f'<redoc spec-url="{openapi_url}"></redoc>'
            f'<script src="{ASSETS_URL}/redoc.standalone.js"></script>',
        )
