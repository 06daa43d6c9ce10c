"""A streaming multipart/form-data reader for uploads.

Starlette's form parser reads the whole body (into a spooled temp file) before the handler runs,
so a 10 GB body would be written out before we could refuse it. This reader feeds the request
stream straight into python-multipart's push parser: the `file` part goes chunk by chunk into the
caller's sink, which enforces the size limit as bytes arrive, and small text fields are collected.

Bad framing is the client's error, never ours: a boundary outside RFC 2046, a body that ends
early and anything python-multipart raises (building the parser, writing to it, finalizing it)
all answer 400 with the one JSON error body.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from imagerepo.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from imagerepo.storage.staging import StagedFile

MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 16
FILE_FIELD = "file"
TAG_FIELD = "tag"  # may be repeated
MAX_TAG_FIELDS = 50
# RFC 2046 section 5.1.1: 1 to 70 of these characters, the last one not a space.
_BOUNDARY = re.compile(rb"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


@dataclass
class UploadForm:
    filename: str | None = None
    has_file: bool = False
    fields: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)  # every `tag` field, in order


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)


def boundary_of(content_type: str | None) -> bytes:
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data":
        raise UnsupportedMediaType("send the image as multipart/form-data with a 'file' part")
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequest("the multipart body has no boundary")
    if not _BOUNDARY.fullmatch(boundary):
        raise BadRequest("a multipart boundary is 1 to 70 characters of the set RFC 2046 allows")
    return boundary


@contextmanager
def _malformed_as_bad_request() -> Iterator[None]:
    """Whatever python-multipart raises about the client's bytes is the client's error (400)."""
    try:
        yield
    except Exception as exc:
        raise BadRequest(f"the multipart body is malformed: {exc}") from exc


def _disposition(value: bytes) -> tuple[str, str | None]:
    kind, options = parse_options_header(value)
    if kind != b"form-data":
        raise BadRequest("each multipart part needs 'Content-Disposition: form-data'")
    name = options.get(b"name", b"").decode("utf-8", "replace")
    raw_filename = options.get(b"filename")
    return name, raw_filename.decode("utf-8", "replace") if raw_filename is not None else None


async def read_upload(
    content_type: str | None,
    body: AsyncIterator[bytes],
    write_file: Callable[[bytes], Awaitable[None]],
) -> UploadForm:
    """Parse `body`, sending the `file` part's bytes to `write_file`; returns the other fields."""
    form = UploadForm()
    events: list[tuple[str, bytes]] = []
    header_field = bytearray()
    header_value = bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        events.append(("header", bytes(header_field).lower() + b"\0" + bytes(header_value)))
        header_field.clear()
        header_value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        events.append(("data", data[start:end]))

    boundary = boundary_of(content_type)
    with _malformed_as_bad_request():
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": lambda: events.append(("begin", b"")),
                "on_header_field": on_header_field,
                "on_header_value": on_header_value,
                "on_header_end": on_header_end,
                "on_headers_finished": lambda: events.append(("headers_done", b"")),
                "on_part_data": on_part_data,
                "on_part_end": lambda: events.append(("end", b"")),
                "on_end": lambda: events.append(("finished", b"")),
            },
        )
    part = _Part()
    finished = False
    async for chunk in body:
        with _malformed_as_bad_request():
            parser.write(chunk)
        for kind, payload in events:
            if kind == "begin":
                part = _Part()
            elif kind == "header":
                name, _, value = payload.partition(b"\0")
                if name == b"content-disposition":
                    part.name, part.filename = _disposition(value)
            elif kind == "headers_done" and part.name == FILE_FIELD:
                if form.has_file:
                    raise ValidationFailed("send one 'file' part per request")
                form.has_file, form.filename = True, part.filename
            elif kind == "data":
                if part.name == FILE_FIELD:
                    await write_file(payload)
                else:
                    part.data.extend(payload)
                    if len(part.data) > MAX_FIELD_BYTES:
                        raise ValidationFailed(f"form field {part.name!r} is too long")
            elif kind == "end" and part.name != FILE_FIELD:
                if len(form.fields) >= MAX_FIELDS or len(form.tags) >= MAX_TAG_FIELDS:
                    raise ValidationFailed("too many form fields")
                try:
                    text = part.data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ValidationFailed(f"form field {part.name!r} is not UTF-8") from exc
                if part.name == TAG_FIELD:
                    form.tags.append(text)
                else:
                    form.fields[part.name] = text
            elif kind == "finished":
                finished = True
        events.clear()
    with _malformed_as_bad_request():
        parser.finalize()
    if not finished:
        raise BadRequest("the multipart body ended early")
    if not form.has_file:
        raise ValidationFailed("the upload has no 'file' part")
    return form


async def read_staged_upload(request: Request, staged: StagedFile) -> UploadForm:
    """The request's multipart body, its `file` part streamed into `staged`: refused at once
    when `Content-Length` already says it is too large. Upload and search-by-image share it."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > staged.max_bytes + 64 * 1024:
        raise PayloadTooLarge(f"upload is larger than the limit of {staged.max_bytes} bytes")
    return await read_upload(request.headers.get("content-type"), request.stream(), staged.write)
