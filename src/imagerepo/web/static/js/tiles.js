// Grid tiles built from the API's JSON: the same markup as templates/_tile.html, and the same
// month headings. User text only ever goes in through textContent,
// attributes and dataset, never as HTML.

const THUMBNAIL_EDGE = 256;

export function fit(width, height, edge) {
  const scale = Math.min(1, edge / Math.max(width, height, 1));
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

const MONTH = { month: "long", year: "numeric", timeZone: "UTC" };

// The month an image is filed under, as web/tiles.py month_of: the camera's own clock when the
// file gave one, else capture (or upload) time in UTC.
export function monthOf(item) {
  const local = (item.metadata && item.metadata.taken_at_local) || "";
  const match = /^(\d{4})-(\d{2})/.exec(local);
  if (match && Number(match[2]) >= 1 && Number(match[2]) <= 12) {
    return new Date(Date.UTC(Math.max(Number(match[1]), 1), Number(match[2]) - 1, 1)).toLocaleString("en-US", MONTH);
  }
  return new Date(item.taken_at || item.created_at).toLocaleString("en-US", MONTH);
}

export function tileElement(item, viewer) {
  const li = document.createElement("li");
  const isPrivate = item.visibility === "private";
  li.className = isPrivate ? "tile is-private" : "tile";
  li.dataset.id = item.id;
  li.dataset.title = item.title;
  li.dataset.owner = item.owner;
  li.dataset.preview = item.preview_url;
  li.dataset.private = String(isPrivate);
  const link = document.createElement("a");
  link.className = "tile-link";
  link.href = `/images/${encodeURIComponent(item.id)}`;
  const img = document.createElement("img");
  const [width, height] = fit(item.width, item.height, THUMBNAIL_EDGE);
  img.width = width;
  img.height = height;
  img.loading = "lazy";
  img.decoding = "async";
  img.alt = item.title;
  img.src = item.thumbnail_url;
  link.append(img);
  li.append(link);
  if (viewer && item.owner === viewer) {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.className = "tile-select";
    box.setAttribute("aria-label", `Select ${item.title}`);
    li.append(box);
  }
  if (isPrivate) li.append(badge());
  return li;
}

function badge() {
  const span = document.createElement("span");
  span.className = "badge";
  span.textContent = "Private";
  return span;
}

// After a visibility change: the badge, and the thumbnail's new URL (its version changed).
export function updateTile(li, item) {
  const isPrivate = item.visibility === "private";
  li.dataset.private = String(isPrivate);
  li.dataset.preview = item.preview_url;
  li.classList.toggle("is-private", isPrivate);
  li.querySelector("img").src = item.thumbnail_url;
  const existing = li.querySelector(".badge");
  if (isPrivate && !existing) li.append(badge());
  if (!isPrivate && existing) existing.remove();
}

export function appendItems(container, items, viewer) {
  for (const item of items) {
    const month = monthOf(item);
    let section = container.lastElementChild;
    if (!section || section.dataset.month !== month) {
      section = document.createElement("section");
      section.className = "month";
      section.dataset.month = month;
      const heading = document.createElement("h2");
      heading.textContent = month;
      const grid = document.createElement("ul");
      grid.className = "grid";
      section.append(heading, grid);
      container.append(section);
    }
    section.querySelector(".grid").append(tileElement(item, viewer));
  }
}

export function removeTile(li) {
  const section = li.closest(".month");
  li.remove();
  if (section && !section.querySelector(".tile")) section.remove();
}
