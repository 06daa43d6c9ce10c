// Calls to /api/v1 with the session cookie: every state-changing call carries the page's CSRF
// token. Errors come back as {"error": {"code", "message"}}; `ApiError` keeps both.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function errorFrom(status, text) {
  try {
    const body = JSON.parse(text);
    if (body && body.error) return new ApiError(status, body.error.code, body.error.message);
  } catch (_) {
    // not JSON: fall through
  }
  return new ApiError(status, "error", `the server answered ${status}`);
}

export async function api(url, { method = "GET", json } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const answer = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  if (answer.status === 204) return null;
  const text = await answer.text();
  if (!answer.ok) {
    if (answer.status === 401) location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    throw errorFrom(answer.status, text);
  }
  return JSON.parse(text);
}

// One file as multipart, with upload progress (fetch cannot report it; XHR can).
// Resolves {status, body}; rejects only when no answer came at all.
export function upload(file, fields, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) if (value) form.append(name, value);
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/images");
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (_) {
        body = null;
      }
      resolve({ status: xhr.status, body });
    });
    xhr.addEventListener("error", () => reject(new Error("the connection to the server failed")));
    xhr.send(form);
  });
}

export function errorMessage(status, body) {
  if (body && body.error && body.error.message) return body.error.message;
  return `the server answered ${status}`;
}

// A modal yes/no question in the page's #confirm dialog; resolves true for yes.
export function confirmDialog(text, yesLabel = "Delete") {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = yesLabel;
  const before = document.activeElement;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        if (before instanceof HTMLElement) before.focus();
        resolve(dialog.returnValue === "ok");
      },
      { once: true },
    );
  });
}
