"""The web gallery: pages rendered on the server (Jinja2) plus small ES modules, no build step.

`mount(app)` adds the pages (`/`, `/mine`, `/images/{id}`, `/upload`, `/login`, `/logout`) and
their assets under `/static/gallery`. Pages call the same services as the API, and the pages'
scripts call `/api/v1` with the session cookie and the page's CSRF token (`api/cookies.py`).
"""

from __future__ import annotations

from fastapi import FastAPI

from imagerepo.web import auth, pages
from imagerepo.web.render import STATIC_URL, GalleryStatic


def mount(app: FastAPI) -> None:
    app.include_router(auth.router)
    app.include_router(pages.router)
    app.mount(STATIC_URL, GalleryStatic(), name="gallery-static")
