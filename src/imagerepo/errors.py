"""The one exception tree of imagerepo, shared by the server and the client.

    ImageRepoError                    code            HTTP
     ├── BadRequest                   bad_request      400
     │    ├── ValidationFailed        validation_error 422
     │    └── InvalidImage            invalid_image    422  (decoder refused the bytes)
     ├── AuthenticationFailed         not_authenticated 401
     │    └── InvalidCredentials      invalid_credentials 401
     ├── PermissionDenied             forbidden        403
     ├── NotFound                     not_found        404
     ├── RequestTimeout               request_timeout  408  (the client sent too slowly)
     ├── Conflict                     conflict         409
     ├── PayloadTooLarge              payload_too_large 413
     ├── UnsupportedMediaType         unsupported_media_type 415
     ├── TooManyRequests              too_many_requests 429 (Retry-After says when)
     ├── HeadersTooLarge              headers_too_large 431
     ├── ServiceUnavailable           unavailable      503 (Retry-After when known)
     └── TransportError               transport_error  (client side only: no answer at all)

Each error carries a stable machine `code` and the HTTP `status` it maps to. The server renders
any of them as `{"error": {"code": ..., "message": ...}}`; the client turns that body back into
the same class with `error_from_body`, so callers catch `NotFound` whichever side raised it.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ImageRepoError(Exception):
    """Base of every error imagerepo raises on purpose."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def to_body(self) -> dict[str, Any]:
        """The JSON error body every 4xx carries."""
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(ImageRepoError):
    code = "bad_request"
    status = 400


class ValidationFailed(BadRequest):
    code = "validation_error"
    status = 422


class InvalidImage(BadRequest):
    code = "invalid_image"
    status = 422


class AuthenticationFailed(ImageRepoError):
    code = "not_authenticated"
    status = 401


class InvalidCredentials(AuthenticationFailed):
    code = "invalid_credentials"


class PermissionDenied(ImageRepoError):
    code = "forbidden"
    status = 403


class NotFound(ImageRepoError):
    code = "not_found"
    status = 404


class Conflict(ImageRepoError):
    code = "conflict"
    status = 409


class RequestTimeout(ImageRepoError):
    code = "request_timeout"
    status = 408


class PayloadTooLarge(ImageRepoError):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(ImageRepoError):
    code = "unsupported_media_type"
    status = 415


class TooManyRequests(ImageRepoError):
    """Slow down: `retry_after` (seconds) becomes a `Retry-After` header."""

    code = "too_many_requests"
    status = 429

    def __init__(self, message: str, *, retry_after: int | None = None, **context: Any) -> None:
        super().__init__(message, **context)
        self.retry_after = retry_after


class HeadersTooLarge(ImageRepoError):
    code = "headers_too_large"
    status = 431


class ServiceUnavailable(ImageRepoError):
    """The server cannot do it now; `retry_after` (seconds) becomes a `Retry-After` header."""

    code = "unavailable"
    status = 503

    def __init__(self, message: str, *, retry_after: int | None = None, **context: Any) -> None:
        super().__init__(message, **context)
        self.retry_after = retry_after


class TransportError(ImageRepoError):
    """The server could not be reached or gave no usable answer (client side only)."""

    code = "transport_error"
    status = 0


def _all_subclasses(cls: type[ImageRepoError]) -> list[type[ImageRepoError]]:
    found: list[type[ImageRepoError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


_BY_CODE: dict[str, type[ImageRepoError]] = {c.code: c for c in _all_subclasses(ImageRepoError)}


def error_from_body(status: int, body: Any) -> ImageRepoError:
    """Rebuild the exception a server answer describes (the inverse of `to_body`)."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code", ""))
        message = str(body["error"].get("message", "")) or f"HTTP {status}"
        cls = _BY_CODE.get(code)
        if cls is not None:
            return cls(message)
    for cls in _all_subclasses(ImageRepoError):
        if cls.status == status and cls.__bases__[0] is ImageRepoError:
            return cls(f"HTTP {status}")
    if status >= 500:
        return ServiceUnavailable(f"server error (HTTP {status})")
    return BadRequest(f"HTTP {status}")
