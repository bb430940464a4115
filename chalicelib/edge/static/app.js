// textfiles web page, part 2: the list, the editor, uploads, the export, the key (kept
// for this tab only, in sessionStorage). Loaded after api.js.
"use strict";

// ---- the list ----------------------------------------------------------------------

function row(file) {
  const tr = document.createElement("tr");
  tr.dataset.id = file.id;
  if (state.file && state.file.id === file.id) tr.className = "current";
  const name = document.createElement("button");
  name.type = "button";
  name.className = "open";
  name.textContent = file.name;
  name.addEventListener("click", () => openFile(file.id).catch(fail));
  const cells = [name, size(file.size), when(file.updated_at)].map((content, i) => {
    const td = document.createElement("td");
    if (i === 1) td.className = "num";
    td.append(content);
    return td;
  });
  tr.append(...cells);
  return tr;
}

function query() {
  const params = new URLSearchParams({ limit: "20" });
  const cursor = state.cursors[state.page];
  if (cursor) params.set("cursor", cursor);
  if ($("prefix").value) params.set("prefix", $("prefix").value);
  if ($("q").value.trim()) params.set("q", $("q").value.trim());
  return params;
}

async function loadList() {
  const data = await json("GET", "files?" + query());
  state.next = data.next_cursor;
  $("rows").replaceChildren(...data.items.map(row));
  $("empty").hidden = data.items.length > 0;
  $("prev").disabled = state.page === 0;
  $("next").disabled = !state.next;
  $("page").textContent = `Page ${state.page + 1}`;
}

function firstPage() {
  state.cursors = [null];
  state.page = 0;
  return loadList();
}

async function refresh() { await Promise.all([loadList(), loadUsage()]); }

// ---- the editor --------------------------------------------------------------------

function showEditor(file, text) {
  state.file = file;
  $("editor").hidden = false;
  $("conflict").hidden = true;
  $("name").value = file ? file.name : "";
  $("rename").hidden = !file;
  $("delete").hidden = !file;
  $("delete").textContent = "Delete";
  $("body").value = text;
  $("meta").textContent = file
    ? `${size(file.size)} · version ${file.version} · updated ${when(file.updated_at)} · kept until ${when(file.expires_at)}`
    : "A new file: give it a name and some text, then Save.";
  for (const tr of $("rows").children) tr.className = file && tr.dataset.id === file.id ? "current" : "";
}

// The body may come from a redirect to a presigned link; fetch drops the key on the way.
async function openFile(id) {
  const file = await json("GET", `files/${encodeURIComponent(id)}/metadata`);
  const text = await (await api("GET", `files/${encodeURIComponent(id)}`)).text();
  showEditor(file, text);
  say(`Opened ${file.name}.`);
}

async function save() {
  const text = $("body").value;
  if (!state.file) {
    const name = $("name").value;
    const file = await json("POST", "files?" + new URLSearchParams({ name }), text, TEXT);
    showEditor(file, text);
    say(`Created ${file.name}.`);
    return refresh();
  }
  try {
    const path = `files/${encodeURIComponent(state.file.id)}`;
    const response = await api("PUT", path, text, TEXT, { "If-Match": state.file.etag });
    showEditor(await response.json(), text);
    say(`Saved ${state.file.name}.`);
  } catch (error) {
    if (error.status !== 412) throw error;
    $("conflict").hidden = false;
    say(error.message, true);
    return;
  }
  return refresh();
}

async function rename(event) {
  event.preventDefault();
  if (!state.file) return save();
  const body = JSON.stringify({ name: $("name").value });
  const file = await json("PATCH", `files/${encodeURIComponent(state.file.id)}`, body, "application/json");
  showEditor(file, $("body").value);
  say(`Renamed to ${file.name}.`);
  return loadList();
}

async function remove() {
  if ($("delete").textContent === "Delete") {
    $("delete").textContent = "Click again to delete";
    return;
  }
  await api("DELETE", `files/${encodeURIComponent(state.file.id)}`);
  say(`Deleted ${state.file.name}.`);
  closeEditor();
  return refresh();
}

function closeEditor() {
  state.file = null;
  $("editor").hidden = true;
  for (const tr of $("rows").children) tr.className = "";
}

// ---- uploads -----------------------------------------------------------------------

function send(method, url, body, head, bar) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    // The browser sets Content-Length itself (the link is signed for the file's size).
    for (const [name, value] of Object.entries(head)) {
      if (name.toLowerCase() !== "content-length") xhr.setRequestHeader(name, value);
    }
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) { bar.max = e.total; bar.value = e.loaded; }
    });
    xhr.addEventListener("load", () => resolve(xhr));
    xhr.addEventListener("error", () => reject(new ApiError(0, "The upload failed (network).")));
    xhr.send(body);
  });
}

function xhrResult(xhr) {
  let data = {};
  try { data = JSON.parse(xhr.responseText || "{}"); } catch (e) { data = {}; }
  if (xhr.status >= 400) throw new ApiError(xhr.status, data.Message || `Upload answered ${xhr.status}.`);
  return data;
}

// Small files go inline; larger ones to a presigned link, then the upload is completed.
async function upload(file) {
  const bar = $("upload-progress");
  bar.hidden = false;
  bar.removeAttribute("value");
  const name = new URLSearchParams({ name: file.name });
  try {
    if (file.size <= (state.limits.inline || 0)) {
      xhrResult(await send("POST", "files?" + name, file, headers({ "Content-Type": TEXT }), bar));
    } else {
      const sized = new URLSearchParams({ name: file.name, size: String(file.size) });
      const link = await json("POST", "files/uploads?" + sized);
      xhrResult(await send(link.method, link.url, file, link.headers, bar));
      await json("POST", relative(link.complete_url));
    }
    say(`Uploaded ${file.name} (${size(file.size)}).`);
  } finally {
    $("upload").value = "";
  }
  return refresh();
}

// ---- export ------------------------------------------------------------------------

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function safeLink(url) {
  const parsed = new URL(url, location.href);
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new Error("Unexpected link.");
  return parsed.href;
}

function showTask(task) {
  const bar = $("export-progress");
  const p = task.progress;
  bar.hidden = false;
  if (p.total) { bar.max = p.total; bar.value = p.done; } else bar.removeAttribute("value");
  $("export-status").textContent = `${task.state}${p.message ? ": " + p.message : ""}`;
}

async function exportAll() {
  $("download").hidden = true;
  $("export").disabled = true;
  try {
    let task = await json("POST", "exports");
    while (task.state === "queued" || task.state === "running") {
      showTask(task);
      await pause(400);
      task = await json("GET", `tasks/${encodeURIComponent(task.id)}`);
    }
    showTask(task);
    if (task.state !== "succeeded") throw new Error(`The export ${task.state}: ${task.error || ""}`);
    $("download").href = safeLink(task.result.download_url);
    $("download").textContent = `Download the export (${task.result.files} files, ${size(task.result.size)})`;
    $("download").hidden = false;
  } finally {
    $("export").disabled = false;
    loadUsage().catch(fail);
  }
}

// ---- the key -----------------------------------------------------------------------

async function start() {
  $("app").hidden = false;
  $("forget").hidden = false;
  $("key-form").hidden = true;
  await Promise.all([firstPage(), loadUsage()]);
}

async function useKey(event) {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("key").value.trim());
  $("key").value = "";
  try {
    await start();
    say("Key accepted.");
  } catch (error) {
    forget();
    fail(error);
  }
}

function forget() {
  sessionStorage.removeItem(KEY);
  closeEditor();
  $("app").hidden = true;
  $("forget").hidden = true;
  $("key-form").hidden = false;
  say("Paste an API key to begin (make key TENANT=... prints one).");
}

function wire() {
  const on = (id, event, handler) =>
    $(id).addEventListener(event, (e) => { Promise.resolve(handler(e)).catch(fail); });
  on("key-form", "submit", useKey);
  on("forget", "click", forget);
  on("search", "submit", (e) => { e.preventDefault(); return firstPage(); });
  on("prev", "click", () => { state.page -= 1; return loadList(); });
  on("next", "click", () => { state.cursors[state.page + 1] = state.next; state.page += 1; return loadList(); });
  on("new", "click", () => { showEditor(null, ""); $("name").focus(); });
  on("save", "click", save);
  on("name-form", "submit", rename);
  on("delete", "click", remove);
  on("close", "click", closeEditor);
  on("reload", "click", () => openFile(state.file.id));
  on("upload", "change", () => $("upload").files.length && upload($("upload").files[0]));
  on("export", "click", exportAll);
}

wire();
if (sessionStorage.getItem(KEY)) start().catch((error) => { forget(); fail(error); });
else forget();
