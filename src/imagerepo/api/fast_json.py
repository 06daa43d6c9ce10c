"""JSON answers built from data that is already checked, without a response model's second pass.

For a route with `response_model`, FastAPI validates the returned object against the model
again and serializes it field by field; for a listing page of 50 images, building one
`ImageOut` per item and that second pass cost more than the SQL (docs/benchmarks.md). The hot
listing routes instead build plain dicts (`schemas.image_fields`, the same fields `ImageOut.of`
validates) and serialize them here with pydantic-core's serializer, the one `model_dump_json`
uses: datetimes come out the same (ISO 8601, `Z` for UTC), text as UTF-8. Their OpenAPI schema
still names the model, through `responses=`.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel
from pydantic_core import to_json

from imagerepo.api.schemas import ErrorOut


class CheckedJSON(Response):
    """A JSON body from dicts, lists and scalars (datetimes included), serialized in Rust."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return to_json(content)


def documented(
    model: type[BaseModel], error_codes: tuple[int, ...]
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that returns `CheckedJSON`: 200 is `model`, errors `ErrorOut`."""
    return {
        200: {"model": model, "description": "Successful Response"},
        **{code: {"model": ErrorOut} for code in error_codes},
    }
