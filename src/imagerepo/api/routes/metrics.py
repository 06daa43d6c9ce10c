"""`GET /metrics`: Prometheus text format, for a scraper holding `IMAGEREPO_METRICS_TOKEN`.

Without the setting the route does not exist (404, like any unknown path): counters reveal
traffic, so they are never public by default. The token is compared in constant time. With
`PROMETHEUS_MULTIPROC_DIR` set, the answer sums every server process of the host
(`imagerepo.metrics`).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from imagerepo.api.deps import services
from imagerepo.errors import AuthenticationFailed, NotFound
from imagerepo.metrics import IMAGES_BY_STATE, JOBS_PENDING, exposition

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    built = services(request)
    token = built.settings.metrics_token
    if token is None:
        raise NotFound("Not Found")
    scheme, _, offered = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(offered.encode(), expected):
        raise AuthenticationFailed("a valid metrics token is required")
    if built.processing is not None:  # the queue's depth is the library's, read at scrape time
        status = await built.processing.status()
        IMAGES_BY_STATE.labels("processing").set(status.processing)
        IMAGES_BY_STATE.labels("failed").set(status.failed)
        JOBS_PENDING.set(status.pending)
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
