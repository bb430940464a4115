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

function say(message, bad = false) {
  $("status").textContent = message;
  $("status").className = bad ? "error" : "";
}

function fail(error) { say(error.message || String(error), true); }

function headers(extra = {}) {
  return { Authorization: "Bearer " + sessionStorage.getItem(KEY), ...extra };
}

async function errorOf(response) {
  try {
    const data = await response.json();
    return new ApiError(response.status, data.Message || response.statusText);
  } catch (e) {
    return new ApiError(response.status, `${response.status} ${response.statusText}`);
  }
}

// Paths are relative to the page, so the page works under any base path (an API stage).
async function api(method, path, body, type, extra = {}) {
  const init = { method, headers: headers(type ? { "Content-Type": type, ...extra } : extra) };
  if (body !== undefined) init.body = body;
  const response = await fetch(path, { ...init, cache: "no-store" });
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

