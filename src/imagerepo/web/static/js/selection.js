// Multi-select over the grid's own tiles (those with a checkbox: your images). A click on a
// checkbox toggles it and shift-click selects the range from the last one; once something is
// selected, clicking a tile toggles it too. Keyboard: Space toggles the focused tile, the arrow
// keys move between tiles, and Shift+arrow extends the selection as it moves.

export class Selection {
  constructor(container, onChange) {
    this.container = container;
    this.onChange = onChange;
    this.ids = new Set();
    this.anchor = null;
  }

  get size() {
    return this.ids.size;
  }

  selectable() {
    return [...this.container.querySelectorAll(".tile")].filter((t) => t.querySelector(".tile-select"));
  }

  selectedTiles() {
    return this.selectable().filter((t) => this.ids.has(t.dataset.id));
  }

  toggle(tile) {
    if (!tile.querySelector(".tile-select")) return;
    const id = tile.dataset.id;
    if (this.ids.has(id)) this.ids.delete(id);
    else this.ids.add(id);
    this.anchor = tile;
    this.render();
  }

  add(tile) {
    if (!tile.querySelector(".tile-select")) return;
    this.ids.add(tile.dataset.id);
    this.render();
  }

  range(tile) {
    const tiles = this.selectable();
    const from = tiles.indexOf(this.anchor);
    const to = tiles.indexOf(tile);
    if (from < 0 || to < 0) {
      this.toggle(tile);
      return;
    }
    const [low, high] = from < to ? [from, to] : [to, from];
    for (const t of tiles.slice(low, high + 1)) this.ids.add(t.dataset.id);
    this.render();
  }

  clear() {
    this.ids.clear();
    this.anchor = null;
    this.render();
  }

  forget(id) {
    this.ids.delete(id);
  }

  render() {
    for (const tile of this.container.querySelectorAll(".tile")) {
      const on = this.ids.has(tile.dataset.id);
      tile.classList.toggle("is-selected", on);
      const box = tile.querySelector(".tile-select");
      if (box) box.checked = on;
    }
    this.container.classList.toggle("selecting", this.ids.size > 0);
    this.onChange(this.ids.size);
  }
}

// The tile beside `tile` in a direction, by position on screen (rows wrap with the width).
export function neighbour(tiles, tile, key) {
  const index = tiles.indexOf(tile);
  if (key === "ArrowLeft") return tiles[index - 1] || null;
  if (key === "ArrowRight") return tiles[index + 1] || null;
  const here = tile.getBoundingClientRect();
  const below = key === "ArrowDown";
  let best = null;
  let bestScore = Infinity;
  for (const other of tiles) {
    const box = other.getBoundingClientRect();
    const rowDistance = below ? box.top - here.top : here.top - box.top;
    if (rowDistance <= 1) continue;
    const score = rowDistance * 10 + Math.abs(box.left - here.left);
    if (score < bestScore) {
      best = other;
      bestScore = score;
    }
  }
  return best;
}
