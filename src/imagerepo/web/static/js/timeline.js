// The timeline and "my images": infinite scroll over the API's cursor, the lightbox, and
// multi-select with bulk visibility change and delete.

import { api, confirmDialog } from "./api.js";
import { Lightbox } from "./lightbox.js";
import { Selection, neighbour } from "./selection.js";
import { appendItems, removeTile, updateTile } from "./tiles.js";

const timeline = document.getElementById("timeline");
const status = document.getElementById("status");
const bulk = document.getElementById("bulk");
const viewer = document.body.dataset.user;
let nextCursor = timeline.dataset.next;
let loading = null;

const allTiles = () => [...timeline.querySelectorAll(".tile")];
const selection = new Selection(timeline, (count) => {
  bulk.hidden = count === 0;
  document.getElementById("bulk-count").textContent = `${count} selected`;
});

function loadMore() {
  if (!nextCursor) return Promise.resolve(false);
  if (loading) return loading;
  const url = `${timeline.dataset.api}&cursor=${encodeURIComponent(nextCursor)}`;
  loading = api(url)
    .then((page) => {
      appendItems(timeline, page.items, viewer);
      nextCursor = page.next_cursor || "";
      selection.render();
      return page.items.length > 0;
    })
    .catch((error) => {
      status.textContent = `Could not load more photos: ${error.message}`;
      nextCursor = "";
      return false;
    })
    .finally(() => {
      loading = null;
    });
  return loading;
}

// Infinite scroll: fetch the next page as the end of the grid comes near. Observing again
// after each page re-checks at once, in case the new tiles did not fill the screen.
const sentinel = document.getElementById("more");
const observer = new IntersectionObserver(
  (entries) => {
    if (!entries.some((entry) => entry.isIntersecting)) return;
    loadMore().then((more) => {
      if (more) {
        observer.unobserve(sentinel);
        observer.observe(sentinel);
      }
    });
  },
  { rootMargin: "1200px 0px" },
);
observer.observe(sentinel);

const lightbox = new Lightbox(document.getElementById("lightbox"), { tiles: allTiles, loadMore });

timeline.addEventListener("click", (event) => {
  const tile = event.target.closest(".tile");
  if (!tile) return;
  if (event.target.classList.contains("tile-select")) {
    if (event.shiftKey && selection.anchor) selection.range(tile);
    else selection.toggle(tile);
    return;
  }
  const link = event.target.closest(".tile-link");
  if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.altKey) return;
  const selectable = tile.querySelector(".tile-select") !== null;
  if (selectable && (selection.size > 0 || event.shiftKey)) {
    event.preventDefault();
    if (event.shiftKey && selection.anchor) selection.range(tile);
    else selection.toggle(tile);
    return;
  }
  if (event.shiftKey) return; // the browser's own: open in a new window
  event.preventDefault();
  lightbox.open(tile);
});

timeline.addEventListener("keydown", (event) => {
  const tile = event.target.closest(".tile");
  if (!tile) return;
  if (event.key === " " && event.target.classList.contains("tile-link")) {
    event.preventDefault();
    selection.toggle(tile);
    return;
  }
  if (!["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(event.key)) return;
  const next = neighbour(allTiles(), tile, event.key);
  event.preventDefault();
  if (!next) return;
  if (event.shiftKey) {
    if (!selection.ids.has(tile.dataset.id)) selection.add(tile);
    selection.add(next);
    selection.anchor = next;
  }
  next.querySelector(".tile-link").focus();
});

async function each(tiles, work) {
  const failures = [];
  const queue = [...tiles];
  const runners = Array.from({ length: 4 }, async () => {
    while (queue.length) {
      const tile = queue.shift();
      try {
        await work(tile);
      } catch (error) {
        failures.push(`${tile.dataset.title}: ${error.message}`);
      }
    }
  });
  await Promise.all(runners);
  return failures;
}

function report(done, failures) {
  status.textContent = failures.length ? `${done} Not done: ${failures.join("; ")}` : done;
}

bulk.addEventListener("click", async (event) => {
  const action = event.target.closest("button")?.dataset.action;
  if (!action) return;
  const tiles = selection.selectedTiles();
  const count = tiles.length === 1 ? "1 image" : `${tiles.length} images`;
  if (action === "clear") {
    selection.clear();
    return;
  }
  if (action === "delete") {
    if (!(await confirmDialog(`Delete ${count}? This cannot be undone.`))) return;
    const failures = await each(tiles, async (tile) => {
      await api(`/api/v1/images/${encodeURIComponent(tile.dataset.id)}`, { method: "DELETE" });
      selection.forget(tile.dataset.id);
      removeTile(tile);
    });
    selection.render();
    report(`Deleted ${count}.`, failures);
    return;
  }
  const failures = await each(tiles, async (tile) => {
    const item = await api(`/api/v1/images/${encodeURIComponent(tile.dataset.id)}`, {
      method: "PATCH",
      json: { visibility: action },
    });
    updateTile(tile, item);
  });
  report(`Made ${count} ${action}.`, failures);
});
