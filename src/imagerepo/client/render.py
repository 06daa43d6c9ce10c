"""How the CLI shows images, users and upload reports: rich tables for people, JSON for programs.

Every cell is a `rich.text.Text`, never a markup string: file names and descriptions come from
users, and a description like "[red]x" must print as typed, not restyle the table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from imagerepo.client.schemas import ImageJSON, UserJSON
from imagerepo.client.upload import Status, UploadReport

_STATUS_STYLE = {Status.NEW: "green", Status.STORED: "cyan", Status.FAILED: "red"}


def images_table(images: Iterable[ImageJSON]) -> Table:
    """One row per image: id, title, owner, visibility, size, WxH, created, description."""
    table = Table(show_edge=False, pad_edge=False)
    for name in ("id", "title", "owner", "visibility", "size", "WxH", "created", "description"):
        table.add_column(
            name, justify="right" if name in ("size", "WxH") else "left", overflow="fold"
        )
    for image in images:
        table.add_row(
            *(
                Text(cell)
                for cell in (
                    str(image.get("id", "")),
                    str(image.get("title", "")),
                    str(image.get("owner", "")),
                    str(image.get("visibility", "")),
                    human_size(image.get("size")),
                    dimensions(image),
                    short_time(image.get("created_at")),
                    str(image.get("description") or ""),
                )
            )
        )
    return table


def image_detail(image: ImageJSON) -> Table:
    """Every field of one image, one per line."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    extra = {"size": f"{human_size(image.get('size'))} ({image.get('size')} bytes)"}
    extra["WxH"] = dimensions(image)
    for key, value in image.items():
        if key in ("width", "height"):
            continue
        table.add_row(Text(key), Text(extra.get(key, "" if value is None else str(value))))
    table.add_row(Text("WxH"), Text(extra["WxH"]))
    return table


def user_line(user: UserJSON, url: str) -> Text:
    role = "admin" if user.get("is_admin") else "user"
    return Text(f"{user.get('username')} at {url} ({role}, id {user.get('id')})")


def upload_table(report: UploadReport, *, failures_only: bool = False) -> Table:
    """One row per file: path, status (with the reason when it failed), image id."""
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("path", overflow="fold")
    table.add_column("status", overflow="fold")
    table.add_column("id", overflow="fold")
    for result in report.results:
        if failures_only and result.status is not Status.FAILED:
            continue
        status = result.status.value
        if result.error:
            status = f"{status}: {result.error}"
        image_id = str(result.image.get("id", "")) if result.image else ""
        table.add_row(
            Text(str(result.path)),
            Text(status, style=_STATUS_STYLE[result.status]),
            Text(image_id),
        )
    return table


def upload_json(report: UploadReport) -> list[dict[str, Any]]:
    """The report as plain data for `--json`: one object per file."""
    return [
        {
            "path": str(r.path),
            "status": r.status.value,
            "error": r.error,
            "image": r.image,
        }
        for r in report.results
    ]


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def human_size(size: object) -> str:
    if not isinstance(size, int) or isinstance(size, bool):
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def dimensions(image: ImageJSON) -> str:
    width, height = image.get("width"), image.get("height")
    return f"{width}x{height}" if width and height else ""


def short_time(value: object) -> str:
    """`2026-11-24 20:41` from an ISO timestamp (as sent, in UTC); the raw text if unparseable."""
    if not isinstance(value, str):
        return ""
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value
