"""The gallery in a real browser: sign in, upload files and a folder, find them in the grid,
search, the lightbox, edit, make private (and check others cannot see it), multi-select and
delete; user text stays text; every page passes axe with no serious or critical violation.

The tests run in file order and share one signed-in browser context, as one visit would.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.images import make_image
from tests.web.conftest import DESKTOP, PHONE, GalleryServer

pytestmark = pytest.mark.e2e

BLOCKING = {"serious", "critical"}


def photo(path: Path, seed: int, size: tuple[int, int] = (800, 600)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(make_image("JPEG", size, seed=seed))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("photos")
    trip = root / "trip"
    photo(trip / "day one" / "lighthouse.jpg", 4, (600, 800))
    photo(trip / "dunes.jpg", 5)
    photo(trip / ".hidden.jpg", 6)
    bogus = root / "notes.jpg"
    bogus.write_text("not a picture at all")
    return {
        "harbour": photo(root / "harbour.jpg", 1),
        "more": [photo(root / "meadow.jpg", 2), photo(root / "<script>boom.jpg", 3, (600, 600))],
        "folder": trip,
        "bogus": bogus,
    }


@pytest.fixture(scope="module")
def alice(gallery: GalleryServer) -> tuple[str, str]:
    return "alice", gallery.add_user("alice")


class Visit:
    """A browser context with its page, collecting script errors and dialogs as it goes."""

    def __init__(self, browser: Any, gallery: GalleryServer) -> None:
        self.gallery = gallery
        self.context = browser.new_context(viewport=DESKTOP)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", self._console)
        self.page.on(
            "dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss())
        )

    def _console(self, message: Any) -> None:
        # Script errors and CSP refusals count; an HTTP error answer (a rejected upload, a 404
        # page) is logged by Chromium too, and is what some steps expect.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def go(self, path: str) -> Any:
        self.page.goto(self.gallery.url + path)
        return self.page

    def sign_in(self, username: str, password: str) -> None:
        page = self.go("/login")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("form.login button[type=submit]")
        page.wait_for_url(self.gallery.url + "/")

    def tile_ids(self) -> list[str]:
        return list(
            self.page.eval_on_selector_all("#timeline .tile", "ts => ts.map(t => t.dataset.id)")
        )

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def visit(chromium: Any, gallery: GalleryServer, alice: tuple[str, str]) -> Iterator[Visit]:
    found = Visit(chromium, gallery)
    found.sign_in(*alice)
    yield found
    found.close()


@pytest.fixture
def stranger(chromium: Any, gallery: GalleryServer) -> Iterator[Visit]:
    found = Visit(chromium, gallery)
    yield found
    found.close()


def no_blocking_violations(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    blocking = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]
    assert blocking == [], page.url


def shoot(page: Any, folder: Path, name: str) -> None:
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.wait_for_timeout(150)  # let the layout settle at the new width
        page.screenshot(path=str(folder / f"{name}-{label}.png"))
    page.set_viewport_size(DESKTOP)


def swipe(page: Any, dx: float) -> None:
    picture = page.locator("#lightbox-img")
    expect(picture).to_have_js_property("complete", True)
    box = picture.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=5)
    page.mouse.up()


def drop(page: Any, path: Path) -> None:
    """Drop a file on the upload zone, as a drag from the desktop would."""
    page.evaluate(
        """([name, data]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "image/jpeg" }));
            const zone = document.getElementById("drop");
            const init = { bubbles: true, dataTransfer: transfer };
            zone.dispatchEvent(new DragEvent("dragover", init));
            zone.dispatchEvent(new DragEvent("drop", init));
        }""",
        [path.name, base64.b64encode(path.read_bytes()).decode()],
    )


def expect_summary(page: Any, text: str) -> None:
    expect(page.locator("#summary")).to_have_text(text, timeout=20_000)


# -- the visit, in order ----------------------------------------------------------------------


def test_anonymous_visitor_sees_an_empty_state_and_strict_headers(
    stranger: Visit, gallery: GalleryServer
) -> None:
    page = stranger.go("/")
    assert "No public photos yet" in page.inner_text("main")
    answer = httpx.get(gallery.url + "/")
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert not re.search(r"<script(?![^>]*\bsrc=)", answer.text)  # no inline script
    assert not re.search(r"\son[a-z]+\s*=", answer.text)  # no inline event handlers
    no_blocking_violations(page)
    no_blocking_violations(stranger.go("/login"))


def test_upload_photos_and_a_folder(visit: Visit, files: dict[str, Any], screenshots: Path) -> None:
    page = visit.go("/upload")
    no_blocking_violations(page)
    page.fill("#description", "harbour at dusk")
    page.set_input_files("#files", [str(files["harbour"])])
    expect_summary(page, "1 new, 0 updated, 0 already stored, 0 failed")
    page.fill("#description", "")
    page.set_input_files("#files", [str(p) for p in files["more"]])
    expect_summary(page, "3 new, 0 updated, 0 already stored, 0 failed")
    page.set_input_files("#folder", str(files["folder"]))
    expect_summary(page, "5 new, 0 updated, 0 already stored, 0 failed")
    page.set_input_files("#files", [str(files["harbour"]), str(files["bogus"])])
    expect_summary(page, "5 new, 0 updated, 1 already stored, 1 failed")
    drop(page, files["harbour"])  # the same bytes again, dropped on the page this time
    expect_summary(page, "5 new, 0 updated, 2 already stored, 1 failed")
    rows = page.inner_text("#queue")
    assert "trip/day one/lighthouse.jpg" in rows and ".hidden" not in rows
    assert re.search(r"notes\.jpg\s+rejected: \S+", rows), rows
    shoot(page, screenshots, "upload")
    assert visit.errors == []


def test_the_timeline_shows_them_newest_first_with_lazy_thumbnails(
    visit: Visit, screenshots: Path
) -> None:
    page = visit.go("/")
    assert len(visit.tile_ids()) == 5
    assert page.locator("#timeline section.month h2").count() == 1
    first = page.locator("#timeline .tile img").first
    assert first.get_attribute("loading") == "lazy"
    assert first.get_attribute("width") and first.get_attribute("height")
    assert re.search(r"/thumbnail\?v=[0-9a-f]{12}$", first.get_attribute("src") or "")
    titles = page.eval_on_selector_all("#timeline .tile", "ts => ts.map(t => t.dataset.title)")
    assert titles[:2] == ["lighthouse", "dunes"] or titles[:2] == ["dunes", "lighthouse"]
    no_blocking_violations(page)
    shoot(page, screenshots, "timeline")
    page.emulate_media(color_scheme="dark")  # follows the system's choice
    no_blocking_violations(page)
    page.screenshot(path=str(screenshots / "timeline-dark-desktop.png"))
    page.emulate_media(color_scheme="light")


def test_search_by_description(visit: Visit) -> None:
    page = visit.go("/")
    page.fill("#q", "harbour")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"q=harbour"))
    assert page.eval_on_selector_all("#timeline .tile", "ts => ts.map(t => t.dataset.title)") == [
        "harbour"
    ]
    page.fill("#q", "nothing-like-this")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"q=nothing"))
    assert "Nothing you may see matches" in page.inner_text("main")


def test_lightbox_steps_with_arrow_keys_and_escape_returns_focus(
    visit: Visit, screenshots: Path
) -> None:
    page = visit.go("/")
    titles = page.eval_on_selector_all("#timeline .tile", "ts => ts.map(t => t.dataset.title)")
    page.locator("#timeline .tile-link").first.click()
    lightbox = page.locator("#lightbox")
    assert lightbox.get_attribute("open") is not None
    assert page.inner_text("#lightbox-title") == titles[0]
    page.keyboard.press("ArrowRight")
    assert page.inner_text("#lightbox-title") == titles[1]
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    assert page.inner_text("#lightbox-title") == titles[1]
    swipe(page, -150)  # a swipe to the left shows the next photo, to the right the previous
    assert page.inner_text("#lightbox-title") == titles[2]
    swipe(page, 150)
    assert page.inner_text("#lightbox-title") == titles[1]
    expect(page.locator("#lightbox-img")).to_have_js_property("complete", True)
    no_blocking_violations(page)
    shoot(page, screenshots, "lightbox")
    page.keyboard.press("Escape")
    assert lightbox.get_attribute("open") is None
    # The dialog first restores focus to the tile that opened it, then its `close` event (a task
    # queued after that) moves it to the photo shown last: wait for that, the settled state.
    page.wait_for_function(
        "title => document.activeElement.closest('.tile')?.dataset.title === title",
        arg=titles[1],
        timeout=5000,
    )


def test_user_text_is_shown_as_text(visit: Visit) -> None:
    page = visit.go("/")
    tile = page.locator("#timeline .tile[data-title='<script>boom']")
    image_id = tile.get_attribute("data-id")
    page = visit.go(f"/images/{image_id}")
    assert page.inner_text("h1") == "<script>boom"
    assert page.locator("img[alt='<script>boom']").count() >= 1
    assert "&lt;script&gt;boom" in page.content()
    assert visit.dialogs == [] and visit.errors == []


def test_edit_and_make_private_hides_it_from_others(
    visit: Visit, gallery: GalleryServer, chromium: Any, screenshots: Path
) -> None:
    page = visit.go("/?q=harbour")
    image_id = visit.tile_ids()[0]
    page = visit.go(f"/images/{image_id}")
    no_blocking_violations(page)
    shoot(page, screenshots, "image")
    page.fill("#description", "harbour at dusk, <b>edited</b>")
    page.fill("#tags", "sea, Evening ,  ")
    page.check("input[name=visibility][value=private]")
    page.click("#edit button[type=submit]")
    page.wait_for_selector("#status:has-text('Saved')")
    assert page.inner_text("#tag-list").split() == ["sea", "Evening"]
    page.reload()
    assert page.inner_text("#description-text") == "harbour at dusk, <b>edited</b>"
    assert page.input_value("#tags") == "sea, Evening"
    page.click("#tag-list >> text=Evening")
    page.wait_for_url(re.compile(r"tag=Evening"))
    assert visit.tile_ids() == [image_id]
    page = visit.go(f"/images/{image_id}")
    assert "Private" in page.inner_text("table.details")
    # Another user, and a visitor who is not signed in, cannot see it anywhere.
    bob = Visit(chromium, gallery)
    try:
        bob.sign_in("bob", gallery.add_user("bob"))
        assert image_id not in bob.tile_ids()
        answer = bob.page.goto(f"{gallery.url}/images/{image_id}")
        assert answer.status == 404
        assert bob.go("/?q=harbour").locator("#timeline .tile").count() == 0
    finally:
        bob.close()
    assert httpx.get(f"{gallery.url}/images/{image_id}").status_code == 404
    assert httpx.get(f"{gallery.url}/api/v1/images/{image_id}/thumbnail").status_code == 404
    assert image_id not in httpx.get(f"{gallery.url}/").text


def test_multi_select_with_keyboard_and_delete_two(visit: Visit, gallery: GalleryServer) -> None:
    page = visit.go("/mine")
    before = visit.tile_ids()
    assert len(before) == 5
    no_blocking_violations(page)
    boxes = page.locator("#timeline .tile-select")
    boxes.nth(0).click()
    boxes.nth(2).click(modifiers=["Shift"])
    assert page.inner_text("#bulk-count") == "3 selected"
    page.click("#bulk [data-action=clear]")
    assert page.locator("#bulk").is_hidden()
    page.locator("#timeline .tile-link").first.focus()
    page.keyboard.press("Space")
    page.keyboard.press("Shift+ArrowRight")
    assert page.inner_text("#bulk-count") == "2 selected"
    chosen = page.eval_on_selector_all(
        "#timeline .tile.is-selected", "ts => ts.map(t => t.dataset.id)"
    )
    assert chosen == before[:2]
    page.click("#bulk [data-action=delete]")
    assert page.locator("#confirm").get_attribute("open") is not None
    page.click("#confirm-ok")
    page.wait_for_selector("#status:has-text('Deleted 2 images')")
    assert visit.tile_ids() == before[2:]
    headers = gallery.token("alice", "alice-password")
    for image_id in chosen:
        answer = httpx.get(f"{gallery.url}/api/v1/images/{image_id}", headers=headers)
        assert answer.status_code == 404


def test_infinite_scroll_follows_the_cursor(stranger: Visit, gallery: GalleryServer) -> None:
    headers = gallery.token("bob", "bob-password")
    with httpx.Client(base_url=gallery.url, headers=headers) as client:
        for seed in range(100, 165):
            answer = client.post(
                "/api/v1/images", files={"file": (f"p{seed}.png", make_image("PNG", seed=seed))}
            )
            assert answer.status_code == 201, answer.text
    first_page = httpx.get(f"{gallery.url}/").text
    assert first_page.count('<li class="tile') == 60  # the rest come through the cursor
    page = stranger.go("/")
    page.locator("#timeline .tile").last.scroll_into_view_if_needed()
    expect(page.locator("#timeline .tile")).to_have_count(67)
    ids = stranger.tile_ids()
    assert len(ids) == len(set(ids)) == 65 + 2  # bob's 65 and alice's two public ones left
    assert stranger.errors == []
