"""How the CLI shows images, users and upload reports: rich tables for people, JSON for programs.

Every cell is a `rich.text.Text`, never a markup string: file names and descriptions come from
users, and a description like "[red]x" must print as typed, not restyle the table.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from imagerepo.client.schemas import ImageJSON, UserJSON, UserListItemJSON
from imagerepo.client.upload import FileResult, Status, UploadReport

_STATUS_STYLE = {
    Status.NEW: "green",
    Status.UPDATED: "blue",
    Status.STORED: "cyan",
    Status.FAILED: "red",
    Status.WOULD_SEND: "yellow",
    Status.WOULD_UPDATE: "yellow",
}
# Rich lays a table out whole before printing it: 10 000 rows take 3 s here. Past this many files
# the table lists only what needs a look (failed first, then new), and says what it left out.
ROW_LIMIT = 200


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
    """Every field of one image, one per line, with its photo metadata spelled out."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    extra = {"size": f"{human_size(image.get('size'))} ({image.get('size')} bytes)"}
    extra["WxH"] = dimensions(image)
    metadata: Mapping[str, Any] = image.get("metadata") or {}
    extra["taken_at"] = taken_text(image.get("taken_at"), metadata)
    for key, value in image.items():
        if key in ("width", "height", "metadata"):
            continue
        table.add_row(Text(key), Text(extra.get(key, "" if value is None else str(value))))
    table.add_row(Text("WxH"), Text(extra["WxH"]))
    for label, text in metadata_rows(metadata):
        table.add_row(Text(label), Text(text))
    return table


def taken_text(taken_at: object, metadata: Mapping[str, Any]) -> str:
    """When the photo was taken, in the camera's own time and offset when the file gave them."""
    local, offset = metadata.get("taken_at_local"), metadata.get("taken_at_offset")
    if isinstance(local, str) and local:
        return local.replace("T", " ") + (f" {offset}" if isinstance(offset, str) else "")
    if isinstance(taken_at, str) and taken_at:
        return taken_at.replace("T", " ")
    return ""


_SHOWN_ELSEWHERE = {"taken_at", "taken_at_local", "taken_at_offset"}
_GROUPED = {
    "camera_make",
    "camera_model",
    "lens",
    "exposure_time",
    "f_number",
    "iso",
    "focal_length",
    "focal_length_35mm",
    "gps_latitude",
    "gps_longitude",
    "gps_altitude",
    "body_serial",
    "lens_serial",
}


def metadata_rows(metadata: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Camera, lens, exposure, location (the owner only gets it), serials; then anything else."""
    m = metadata
    rows: list[tuple[str, str]] = []
    make, model = str(m.get("camera_make") or ""), str(m.get("camera_model") or "")
    # Models usually repeat the make ("Canon" + "Canon EOS 5D"): say it once.
    camera = model if make and model.lower().startswith(make.lower()) else f"{make} {model}"
    if camera.strip():
        rows.append(("camera", camera.strip()))
    if m.get("lens"):
        rows.append(("lens", str(m["lens"])))
    if exposure := exposure_text(m):
        rows.append(("exposure", exposure))
    lat, lon = m.get("gps_latitude"), m.get("gps_longitude")
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        where = f"{lat:.6f}, {lon:.6f}"
        if isinstance(alt := m.get("gps_altitude"), int | float):
            where += f", {alt:g} m"
        rows.append(("location", where))
    pairs = (("body", "body_serial"), ("lens", "lens_serial"))
    serials = [f"{what} {m[key]}" for what, key in pairs if m.get(key)]
    if serials:
        rows.append(("serial numbers", ", ".join(serials)))
    for key, value in m.items():
        if key not in _GROUPED and key not in _SHOWN_ELSEWHERE and value is not None:
            rows.append((key, str(value)))
    return rows


def exposure_text(m: Mapping[str, Any]) -> str:
    """`1/250 s · f/2.8 · ISO 100 · 50 mm (75 mm in 35 mm)` from whichever parts are known."""
    parts: list[str] = []
    seconds = m.get("exposure_time")
    if isinstance(seconds, int | float) and seconds > 0:
        parts.append(f"1/{round(1 / seconds)} s" if seconds < 1 else f"{seconds:g} s")
    if isinstance(f_number := m.get("f_number"), int | float):
        parts.append(f"f/{f_number:g}")
    if isinstance(iso := m.get("iso"), int):
        parts.append(f"ISO {iso}")
    if isinstance(focal := m.get("focal_length"), int | float):
        text = f"{focal:g} mm"
        if isinstance(full_frame := m.get("focal_length_35mm"), int) and full_frame != focal:
            text += f" ({full_frame} mm in 35 mm)"
        parts.append(text)
    return " · ".join(parts)


def role(user: UserJSON) -> str:
    return "admin" if user.get("is_admin") else "user"


def user_line(user: UserJSON, url: str) -> Text:
    """`root (admin) at http://127.0.0.1:8000`."""
    return Text(f"{user.get('username')} ({role(user)}) at {url}")


def users_table(users: Iterable[UserListItemJSON]) -> Table:
    """One row per user: name, role, how many images, created."""
    table = Table(show_edge=False, pad_edge=False)
    for name in ("username", "role", "images", "created"):
        table.add_column(name, justify="right" if name == "images" else "left", overflow="fold")
    for user in users:
        table.add_row(
            Text(str(user.get("username", ""))),
            Text(role(user)),
            Text(str(user.get("image_count", ""))),
            Text(short_time(user.get("created_at"))),
        )
    return table


def upload_listing(
    report: UploadReport, *, failures_only: bool = False, limit: int | None = None
) -> tuple[list[FileResult], str | None]:
    """The rows worth printing, in input order, and a line saying what was left out (or None).

    A run of at most `limit` (default `ROW_LIMIT`) files lists every file. A larger one lists
    failures, then new (or to be sent) files, up to `limit` rows, and never the "already stored"
    ones: a re-sync of 10 000 unchanged files prints its summary, not 10 000 rows. `--json`
    lists every file.
    """
    limit = ROW_LIMIT if limit is None else limit
    results = report.results
    if failures_only:
        candidates = [r for r in results if r.status is Status.FAILED]
    elif len(results) <= limit:
        candidates = results
    else:
        candidates = [r for r in results if r.status is not Status.STORED]
    if len(candidates) > limit:
        failed = [r for r in candidates if r.status is Status.FAILED][:limit]
        others = [r for r in candidates if r.status is not Status.FAILED][: limit - len(failed)]
        keep = {id(r) for r in (*failed, *others)}
        candidates = [r for r in candidates if id(r) in keep]
    if failures_only or len(candidates) == len(results):
        return candidates, None
    shown = {id(r) for r in candidates}
    left = Counter(r.status for r in results if id(r) not in shown)
    detail = ", ".join(f"{left[s]:,} {s.value}".replace(",", " ") for s in Status if left[s])
    return candidates, f"not listed: {detail} (--json lists every file)"


def upload_table(results: Iterable[FileResult]) -> Table:
    """One row per file: path, status (with why it failed, or what it looks like), image id."""
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("path", overflow="fold")
    table.add_column("status", overflow="fold")
    table.add_column("id", overflow="fold")
    for result in results:
        table.add_row(
            Text(str(result.path)),
            Text(status_text(result), style=_STATUS_STYLE[result.status]),
            Text(result.image_id or ""),
        )
    return table


def status_text(result: FileResult) -> str:
    """`new — looks like <id>`, `failed: <the server's message>`, `already stored (same ...)`."""
    text = result.status.value
    if result.near_duplicates:
        ids = [str(n.get("id", "")) for n in result.near_duplicates]
        text += f" — looks like {ids[0]}"
        if len(ids) > 1:
            text += f" (and {len(ids) - 1} more)"
    if result.error:
        text += f": {result.error}"
    if result.note:
        text += f" ({result.note})"
    return text


def upload_json(report: UploadReport) -> list[dict[str, Any]]:
    """The report as plain data for `--json`: one object per file, skipped ones included."""
    files: list[dict[str, Any]] = [
        {
            "path": str(r.path),
            "status": r.status.value,
            "sha256": r.sha256,
            "image_id": r.image_id,
            "error": r.error,
            "note": r.note,
            "near_duplicates": list(r.near_duplicates),
            "image": r.image,
        }
        for r in report.results
    ]
    files.extend(
        {"path": str(path), "status": "skipped", "reason": why} for path, why in report.skipped
    )
    return files


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
