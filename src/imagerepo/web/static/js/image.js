// The image page, for its owner: save the description, tags and visibility, or delete the image.

import { api, confirmDialog } from "./api.js";

const article = document.querySelector(".photo");
const form = document.getElementById("edit");
const status = document.getElementById("status");
const url = `/api/v1/images/${encodeURIComponent(article.dataset.id)}`;

function showTags(tags) {
  const list = document.getElementById("tag-list");
  list.replaceChildren(
    ...tags.map((tag) => {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = `/?tag=${encodeURIComponent(tag)}`;
      link.textContent = tag;
      item.append(link);
      return item;
    }),
  );
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  try {
    const tags = data
      .get("tags")
      .split(",")
      .map((tag) => tag.trim())
      .filter(Boolean);
    const item = await api(url, {
      method: "PATCH",
      json: { description: data.get("description"), visibility: data.get("visibility"), tags },
    });
    showTags(item.tags);
    let caption = document.getElementById("description-text");
    if (!caption) {
      caption = document.createElement("figcaption");
      caption.id = "description-text";
      document.querySelector(".preview").append(caption);
    }
    caption.textContent = item.description;
    document.querySelector(".preview img").src = item.preview_url;
    status.textContent = `Saved: ${item.visibility === "private" ? "only you" : "anyone"} can see it.`;
  } catch (error) {
    status.textContent = `Not saved: ${error.message}`;
  }
});

document.getElementById("delete").addEventListener("click", async () => {
  if (!(await confirmDialog("Delete this image? This cannot be undone."))) return;
  try {
    await api(url, { method: "DELETE" });
    location.assign("/mine");
  } catch (error) {
    status.textContent = `Not deleted: ${error.message}`;
  }
});
