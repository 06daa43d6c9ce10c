"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: it can serve now)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from imagerepo.api.deps import services_dependency
from imagerepo.api.schemas import Health
from imagerepo.errors import ServiceUnavailable
from imagerepo.wiring import Services

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"description": "a backend (database, storage, cache) is unreachable"}},
)
async def readyz(built: Annotated[Services, Depends(services_dependency)]) -> Health:
    """200 when the database, the blob storage and the shared cache (if configured) answer;
    503 with the one error body naming what does not, for a load balancer to route around."""
    problems = await built.readiness.problems() if built.readiness else {}
    if problems:
        raise ServiceUnavailable("; ".join(f"{name}: {what}" for name, what in problems.items()))
    return Health()
