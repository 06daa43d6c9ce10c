"""One JSON error body for every failure: `{"error": {"code": ..., "message": ...}}`."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from imagerepo.errors import AuthenticationFailed, ImageRepoError, ValidationFailed

log = logging.getLogger("imagerepo")

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    merged = dict(headers or {})
    if status == 401:
        merged["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=merged or None
    )


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ImageRepoError)
    status = exc.status if 400 <= exc.status < 600 else 500
    if isinstance(exc, AuthenticationFailed):
        status = 401
    retry_after = getattr(exc, "retry_after", None)  # ServiceUnavailable: when to come back
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return error_response(status, exc.code, exc.message, headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
        problems.append(f"{where}: {error.get('msg', 'invalid')}" if where else error["msg"])
    return error_response(422, ValidationFailed.code, "; ".join(problems) or "invalid request")


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    # Keep the exception's headers: a 405 must say which methods are allowed (`Allow`).
    return error_response(exc.status_code, code, str(exc.detail), exc.headers)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ImageRepoError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
