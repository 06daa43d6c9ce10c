"""What people read: the summary, which rows a big run lists, photo metadata spelled out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imagerepo.client import render
from imagerepo.client.auth import DEFAULT_URL
from imagerepo.client.schemas import ImageJSON
from imagerepo.client.upload import FileResult, Status, UploadReport
from imagerepo.config import DEFAULT_URL as SERVER_DEFAULT_URL


def report(**counts: int) -> UploadReport:
    results = [
        FileResult(Path(f"{status.name.lower()}_{i}.jpg"), status, image_id=f"id{i}")
        for status in Status
        for i in range(counts.get(status.name.lower(), 0))
    ]
    return UploadReport(results=results, skipped=[])


def test_the_summary_line_groups_thousands() -> None:
    assert (
        report(new=812, stored=9188).summary()
        == "812 new, 0 updated, 9 188 already stored, 0 failed"
    )
    assert report(stored=12_345).summary().startswith("0 new, 0 updated, 12 345 already stored")


def test_skipped_files_are_counted_by_reason_on_their_own_line() -> None:
    skipped = [(Path(".git"), "hidden"), (Path("a.txt"), "not an image file name")]
    skipped += [(Path(f"{i}.txt"), "not an image file name") for i in range(1500)]
    summary = UploadReport(results=[], skipped=skipped).summary()
    assert summary.splitlines() == [
        "0 new, 0 updated, 0 already stored, 0 failed",
        "skipped: 1 hidden, 1 501 not an image file name",
    ]


def test_a_dry_run_says_nothing_was_sent() -> None:
    dry = report(would_send=3, stored=2)
    dry.dry_run = True
    assert (
        dry.summary()
        == "dry run: 3 to send, 0 to update, 2 already stored, 0 failed; nothing was sent"
    )


def test_a_small_run_lists_every_file() -> None:
    rows, left_out = render.upload_listing(report(new=2, stored=3), limit=10)
    assert len(rows) == 5 and left_out is None


def test_a_large_run_lists_failures_then_new_files_and_says_what_it_left_out() -> None:
    big = report(new=30, stored=9000, failed=4)
    rows, left_out = render.upload_listing(big, limit=10)
    assert [r.status for r in rows] == [Status.NEW] * 6 + [Status.FAILED] * 4  # input order
    assert left_out == "not listed: 24 new, 9 000 already stored (--json lists every file)"


def test_failures_come_first_when_there_are_too_many() -> None:
    rows, left_out = render.upload_listing(report(failed=50, new=5), limit=10)
    assert [r.status for r in rows] == [Status.FAILED] * 10
    assert left_out == "not listed: 5 new, 40 failed (--json lists every file)"


def test_quiet_lists_failures_only() -> None:
    rows, left_out = render.upload_listing(report(failed=2, new=5), failures_only=True)
    assert [r.status for r in rows] == [Status.FAILED] * 2 and left_out is None


def test_status_text() -> None:
    near = FileResult(
        Path("a.jpg"),
        Status.NEW,
        near_duplicates=({"id": "X1", "distance": 2}, {"id": "X2", "distance": 5}),
    )
    assert render.status_text(near) == "new — looks like X1 (and 1 more)"
    copy = FileResult(Path("b.jpg"), Status.STORED, note="same bytes as a.jpg")
    assert render.status_text(copy) == "already stored (same bytes as a.jpg)"
    failed = FileResult(Path("c.jpg"), Status.FAILED, error="not an image")
    assert render.status_text(failed) == "failed: not an image"


def detail(image: dict[str, Any]) -> dict[str, str]:
    table = render.image_detail(ImageJSON(**image))  # type: ignore[typeddict-item]
    labels, values = (list(column.cells) for column in table.columns)
    return {str(k): str(v) for k, v in zip(labels, values, strict=True)}


def test_show_spells_out_metadata() -> None:
    rows = detail(
        {
            "id": "i1",
            "size": 2048,
            "width": 4000,
            "height": 3000,
            "taken_at": "2024-06-01T10:00:00Z",
            "metadata": {
                "taken_at": "2024-06-01T10:00:00+00:00",
                "taken_at_local": "2024-06-01T12:00:00",
                "taken_at_offset": "+02:00",
                "camera_make": "Canon",
                "camera_model": "Canon EOS 5D Mark IV",
                "lens": "EF24-70mm f/2.8L II USM",
                "exposure_time": 0.004,
                "f_number": 2.8,
                "iso": 100,
                "focal_length": 50.0,
                "gps_latitude": 48.8583701,
                "gps_longitude": 2.2944813,
                "gps_altitude": 35.5,
                "body_serial": "0123",
                "orientation": 6,
            },
        }
    )
    assert rows["taken_at"] == "2024-06-01 12:00:00 +02:00"
    assert rows["camera"] == "Canon EOS 5D Mark IV"
    assert rows["lens"] == "EF24-70mm f/2.8L II USM"
    assert rows["exposure"] == "1/250 s · f/2.8 · ISO 100 · 50 mm"
    assert rows["location"] == "48.858370, 2.294481, 35.5 m"
    assert rows["serial numbers"] == "body 0123"
    assert rows["orientation"] == "6"
    assert rows["WxH"] == "4000x3000"
    assert "metadata" not in rows


def test_show_without_metadata_or_location() -> None:
    rows = detail({"id": "i1", "taken_at": None, "metadata": {"exposure_time": 2.0}})
    assert rows["taken_at"] == ""
    assert rows["exposure"] == "2 s"
    assert "location" not in rows and "camera" not in rows
    old_server = detail({"id": "i1", "size": 1})
    assert "taken_at" not in old_server


def test_the_client_default_url_is_the_servers() -> None:
    assert DEFAULT_URL == SERVER_DEFAULT_URL
