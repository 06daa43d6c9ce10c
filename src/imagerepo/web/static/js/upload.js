// The upload page: files, whole folders (the folder input, or drag and drop through
// DataTransfer entries), a few uploads at a time with progress, and the same answers as the
// CLI: new, updated, already stored, or rejected with the server's reason.

import { errorMessage, upload } from "./api.js";

const CONCURRENCY = 3;
const form = document.getElementById("upload");
const drop = document.getElementById("drop");
const queueList = document.getElementById("queue");
const summary = document.getElementById("summary");
const maxBytes = Number(form.dataset.maxBytes);
const counts = { new: 0, updated: 0, stored: 0, failed: 0 };
const waiting = [];
let running = 0;

function fields() {
  const data = new FormData(form);
  return { visibility: data.get("visibility"), description: data.get("description").trim() };
}

function showSummary() {
  const left = waiting.length + running;
  const line = `${counts.new} new, ${counts.updated} updated, ${counts.stored} already stored, ${counts.failed} failed`;
  summary.textContent = left ? `${line} · ${left} to go` : line;
}

function hidden(path) {
  return path.split("/").some((part) => part.startsWith("."));
}

function enqueue(files) {
  for (const { file, path } of files) {
    if (hidden(path)) continue;
    const row = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = path;
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute("aria-label", `Uploading ${path}`);
    const outcome = document.createElement("span");
    outcome.className = "outcome";
    outcome.textContent = "waiting";
    row.append(name, bar, outcome);
    queueList.append(row);
    waiting.push({ file, path, row, bar, outcome });
  }
  showSummary();
  pump();
}

function pump() {
  while (running < CONCURRENCY && waiting.length) send(waiting.shift());
}

function settle(job, kind, text) {
  counts[kind] += 1;
  job.row.dataset.outcome = kind;
  job.outcome.textContent = text;
  job.bar.value = 1;
}

async function send(job) {
  running += 1;
  job.outcome.textContent = "uploading";
  try {
    if (job.file.size > maxBytes) {
      settle(job, "failed", `rejected: larger than the limit of ${maxBytes} bytes`);
      return;
    }
    const { status, body } = await upload(job.file, fields(), (done) => {
      job.bar.value = done;
    });
    if (status === 201) {
      settle(job, "new", "new");
      const view = document.createElement("a");
      view.href = `/images/${encodeURIComponent(body.id)}`;
      view.textContent = "view";
      job.row.append(view);
    } else if (status === 200 && body && body.outcome === "updated") {
      settle(job, "updated", "updated");
    } else if (status === 200) {
      settle(job, "stored", "already stored");
    } else {
      settle(job, "failed", `rejected: ${errorMessage(status, body)}`);
    }
  } catch (error) {
    settle(job, "failed", `failed: ${error.message}`);
  } finally {
    running -= 1;
    showSummary();
    pump();
  }
}

function fromInput(input) {
  enqueue([...input.files].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
  input.value = "";
}

document.getElementById("files").addEventListener("change", (event) => fromInput(event.target));
document.getElementById("folder").addEventListener("change", (event) => fromInput(event.target));

function fileOf(entry) {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

function readAll(reader) {
  // readEntries answers in batches (100 in Chromium) until it answers an empty one.
  return new Promise((resolve, reject) => {
    const found = [];
    const more = () =>
      reader.readEntries((batch) => {
        if (!batch.length) resolve(found);
        else {
          found.push(...batch);
          more();
        }
      }, reject);
    more();
  });
}

async function walk(entries, out) {
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    if (entry.isFile) out.push({ file: await fileOf(entry), path: entry.fullPath.replace(/^\//, "") });
    else if (entry.isDirectory) await walk(await readAll(entry.createReader()), out);
  }
  return out;
}

// Dropping anywhere on the page is taken as a drop on the zone, never as "open this file".
document.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
document.addEventListener("dragleave", (event) => {
  if (event.target === document.documentElement || event.target === drop) drop.classList.remove("over");
});
document.addEventListener("drop", async (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  // Entries must be taken before the first await: the DataTransfer empties afterwards.
  const items = [...event.dataTransfer.items];
  const entries = items.map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
  if (entries.length) enqueue(await walk(entries, []));
  else enqueue([...event.dataTransfer.files].map((file) => ({ file, path: file.name })));
});
