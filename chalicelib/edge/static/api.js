// textfiles web page, part 1: calls to the API, and the small helpers the page shares.
// Data is only ever shown with textContent or form values, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY = "textfiles-key";
const TEXT = "text/plain; charset=utf-8";
const state = { cursors: [null], page: 0, next: null, file: null, limits: {} };

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// What to do about a failed request, by its status: the server says what went wrong.
const HINTS = {
  0: "Check the connection to the service, then try again.",
  401: "Check the key: paste it again (make run prints one, make key TENANT=name another).",
  403: "Make room (delete files, empty the trash) or wait for a running task to finish.",
  404: "It may have been deleted elsewhere: search again to refresh the list.",
  409: "Choose another name, or try again.",
  412: "Reload the saved version, then make your change again.",
  413: "Make it smaller than the limit in the message.",
  415: "Only UTF-8 text without NUL bytes can be stored.",
  429: "Wait for the rate window to reset (see Requests above), then try again.",
  503: "The service is briefly unavailable: try again in a few seconds.",
};

function explain(error) {
  const message = error.message || String(error);
  const hint = HINTS[error.status] || (error.status >= 500 ? HINTS[503] : "");
  return hint ? `${message} ${hint}` : message;
}

function say(message) {
  $("status").textContent = message;
  clearError();
}

function clearError() { $("error").hidden = true; $("error").textContent = ""; }

// Errors go to a role=alert line, which screen readers announce; the next action clears it.
function fail(error) {
  $("error").textContent = explain(error);
  $("error").hidden = false;
}

// An action: clears the last error first, shows its own if it fails.
const act = (handler) => (event) => {
  clearError();
  Promise.resolve(handler(event)).catch(fail);
};

function cell(content, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.append(content);
  return td;
}

function button(label, handler) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", act(handler));
  return b;
}

function headers(extra = {}) {
  return { Authorization: "Bearer " + sessionStorage.getItem(KEY), ...extra };
}

async function errorOf(response) {
  try {
    const data = await response.json();
    return new ApiError(response.status, data.Message || response.statusText);
  } catch (e) {
    return new ApiError(response.status, `The service answered ${response.status} ${response.statusText}.`);
  }
}

// Paths are relative to the page, so the page works under any base path (an API stage).
async function api(method, path, body, type, extra = {}) {
  const init = { method, headers: headers(type ? { "Content-Type": type, ...extra } : extra) };
  if (body !== undefined) init.body = body;
  let response;
  try {
    response = await fetch(path, { ...init, cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, "The request did not reach the service.");
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

const json = async (method, path, body, type) => (await api(method, path, body, type)).json();
const relative = (path) => path.replace(/^\/+/, "");

function size(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let i = -1;
  do { n /= 1024; i += 1; } while (n >= 1024 && i < units.length - 1);
  return `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

function when(iso) { return new Date(iso).toLocaleString(); }

// ---- usage -------------------------------------------------------------------------

function meter(label, used, limit, text) {
  const box = document.createElement("div");
  box.className = "meter";
  const caption = document.createElement("span");
  caption.textContent = `${label}: ${text}`;
  const bar = document.createElement("progress");
  bar.max = Math.max(limit, 1);
  bar.value = Math.min(used, limit);
  bar.setAttribute("aria-label", label);
  box.append(caption, bar);
  return box;
}

async function loadUsage() {
  const u = await json("GET", "usage");
  state.limits = { inline: u.max_inline_bytes, upload: u.max_upload_bytes };
  const r = u.rate;
  $("usage").replaceChildren(
    meter("Files", u.files.used, u.files.limit, `${u.files.used} of ${u.files.limit}`),
    meter("Storage", u.bytes.used, u.bytes.limit, `${size(u.bytes.used)} of ${size(u.bytes.limit)}` +
      ` (history ${size(u.bytes.history)}, trash ${size(u.bytes.trash)})`),
    meter("Running tasks", u.running_tasks.used, u.running_tasks.limit,
      `${u.running_tasks.used} of ${u.running_tasks.limit}`),
    meter("Requests", r.used, r.limit,
      `${r.used} of ${r.limit} in this ${r.window_seconds} s window (resets in ${r.reset_seconds} s)`),
  );
}

