// The lightbox: a modal <dialog> over the grid. Arrow keys or a swipe step to the previous or
// next photo (asking the grid for more at the end), Escape closes, and focus returns to the
// tile that opened it.

const SWIPE_PIXELS = 50;

export class Lightbox {
  constructor(dialog, { tiles, loadMore }) {
    this.dialog = dialog;
    this.tiles = tiles;
    this.loadMore = loadMore;
    this.index = -1;
    this.opener = null;
    this.img = dialog.querySelector("#lightbox-img");
    this.title = dialog.querySelector("#lightbox-title");
    this.link = dialog.querySelector("#lightbox-link");
    dialog.querySelector(".lb-prev").addEventListener("click", () => this.step(-1));
    dialog.querySelector(".lb-next").addEventListener("click", () => this.step(1));
    dialog.querySelector(".lb-close").addEventListener("click", () => dialog.close());
    dialog.addEventListener("keydown", (event) => {
      if (event.key === "ArrowLeft") {
        event.preventDefault();
        this.step(-1);
      } else if (event.key === "ArrowRight") {
        event.preventDefault();
        this.step(1);
      }
    });
    dialog.addEventListener("close", () => {
      this.img.removeAttribute("src");
      if (this.opener) this.opener.focus();
    });
    // A click on the backdrop (the dialog itself, outside its content) closes it; the click
    // that ends a swipe does not.
    let swiped = false;
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog && !swiped) dialog.close();
      swiped = false;
    });
    let startX = null;
    dialog.addEventListener("pointerdown", (event) => {
      startX = event.clientX;
      swiped = false;
    });
    dialog.addEventListener("pointercancel", () => {
      startX = null;
    });
    dialog.addEventListener("pointerup", (event) => {
      if (startX === null) return;
      const moved = event.clientX - startX;
      startX = null;
      swiped = Math.abs(moved) >= SWIPE_PIXELS;
      if (swiped) this.step(moved < 0 ? 1 : -1);
    });
  }

  open(tile) {
    this.index = this.tiles().indexOf(tile);
    this.opener = tile.querySelector(".tile-link");
    this.show();
    this.dialog.showModal();
  }

  show() {
    const tile = this.tiles()[this.index];
    if (!tile) return;
    this.img.src = tile.dataset.preview;
    this.img.alt = tile.dataset.title;
    this.title.textContent = tile.dataset.title;
    this.link.href = `/images/${encodeURIComponent(tile.dataset.id)}`;
    this.opener = tile.querySelector(".tile-link");
    this.dialog.dataset.index = String(this.index);
    // Fetch the neighbours' previews now, so that stepping to them shows them at once.
    for (const near of [this.tiles()[this.index - 1], this.tiles()[this.index + 1]]) {
      if (near) new Image().src = near.dataset.preview;
    }
  }

  async step(delta) {
    const wanted = this.index + delta;
    if (wanted >= this.tiles().length) await this.loadMore();
    if (wanted < 0 || wanted >= this.tiles().length) return;
    this.index = wanted;
    this.show();
  }
}
