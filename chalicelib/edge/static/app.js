// textfiles web page, part 3: the list, the editor, following the change feed, the key
// (kept for this tab only, in sessionStorage). Loaded after api.js and transfer.js.
"use strict";

// ---- the list ----------------------------------------------------------------------

function row(file) {
  const tr = document.createElement("tr");
  tr.dataset.id = file.id;
  if (state.file && state.file.id === file.id) tr.className = "current";
  const name = button(file.name, () => openFile(file.id));
  name.className = "open";
  const save = button("Download", () => download(file));
  save.className = "download";
  save.setAttribute("aria-label", `Download ${file.name}`);
  tr.append(cell(name, "name"), cell(size(file.size), "num"), cell(when(file.updated_at), "when"), cell(save));
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
  const mine = (state.listed = (state.listed || 0) + 1); // a later listing wins, not a slower one
  const data = await json("GET", "files?" + query());
  if (mine !== state.listed) return;
  state.next = data.next_cursor;
  const shown = JSON.stringify(data.items); // unchanged: keep the rows (and the focus in them)
  if (shown !== state.shown) $("rows").replaceChildren(...data.items.map(row));
  state.shown = shown;
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

// text null: the body is not loaded (above the inline limit until the user asks for it).
function showEditor(file, text) {
  state.file = file;
  state.loaded = text !== null;
  $("editor").hidden = false;
  $("conflict").hidden = true;
  $("large").hidden = state.loaded;
  $("body").hidden = !state.loaded;
  $("save").disabled = !state.loaded;
  $("name").value = file ? file.name : "";
  $("rename").hidden = !file;
  $("delete").hidden = !file;
  $("delete").textContent = "Delete";
  $("body").value = text ?? "";
  $("meta").textContent = file
    ? `${size(file.size)} · version ${file.version} · updated ${when(file.updated_at)} · kept until ${when(file.expires_at)}`
    : "A new file: give it a name and some text, then Save (Ctrl+S).";
  for (const tr of $("rows").children) tr.className = file && tr.dataset.id === file.id ? "current" : "";
}

// The body may come from a redirect to a presigned link; fetch drops the key on the way.
async function openFile(id, anyway = false) {
  const file = await json("GET", `${fileUrl(id)}/metadata`);
  if (file.size > inlineLimit() && !anyway) {
    showEditor(file, null);
    $("large-text").textContent = `${file.name} is ${size(file.size)}, more than the ` +
      `${size(inlineLimit())} the editor opens at once: opening it may be slow. Open it anyway, or download it.`;
    say(`${file.name} is not opened yet: it is ${size(file.size)}.`);
    $("large").scrollIntoView({ block: "nearest" });
    return;
  }
  const text = await (await api("GET", fileUrl(id))).text();
  showEditor(file, text);
  say(`Opened ${file.name}.`);
  $("editor").scrollIntoView({ block: "nearest" }); // below the list on a narrow screen
}

// Bodies above the inline limit go through a link (transfer.js), the same way as uploads.
async function save() {
  if ($("editor").hidden || !state.loaded) return;
  const text = $("body").value;
  const data = new File([text], state.file ? state.file.name : $("name").value, { type: TEXT });
  const big = data.size > inlineLimit() ? ` (${size(data.size)}, through an upload link)` : "";
  try {
    const file = await store(state.file, data, null);
    say(`${state.file ? "Saved" : "Created"} ${file.name}${big}.`);
    showEditor(file, text);
  } catch (error) {
    if (error.status === 412) $("conflict").hidden = false;
    throw error;
  }
  return refresh();
}

async function rename(event) {
  event.preventDefault();
  if (!state.file) return save();
  const body = JSON.stringify({ name: $("name").value });
  const file = await json("PATCH", fileUrl(state.file.id), body, "application/json");
  showEditor(file, state.loaded ? $("body").value : null);
  say(`Renamed to ${file.name}.`);
  return loadList();
}

async function remove() {
  if ($("delete").textContent === "Delete") {
    $("delete").textContent = "Click again to delete";
    return;
  }
  await api("DELETE", fileUrl(state.file.id));
  say(`Deleted ${state.file.name}.`);
  closeEditor();
  return refresh();
}

function closeEditor() {
  state.file = null;
  $("editor").hidden = true;
  for (const tr of $("rows").children) tr.className = "";
}

// Ctrl+S and Cmd+S save the open file instead of the browser saving the page.
function saveKey(event) {
  if (!(event.ctrlKey || event.metaKey) || event.altKey || event.key.toLowerCase() !== "s") return;
  event.preventDefault();
  if ($("editor").hidden) return;
  if (!state.loaded) return fail(new Error("Open the file's text before saving it."));
  act(save)(event);
}

// ---- the change feed: the list follows changes made elsewhere ------------------------

const FEED_MS = 3000;
const feed = { cursor: null, timer: 0 };

async function feedLatest() { feed.cursor = (await json("GET", "changes/latest")).next_cursor; }

async function pollChanges() {
  try {
    if (!feed.cursor) await feedLatest();
    const data = await json("GET", "changes?" + new URLSearchParams({ cursor: feed.cursor }));
    feed.cursor = data.next_cursor;
    if (data.items.length) await refresh();
  } catch (error) {
    if ([401, 403, 404].includes(error.status)) return stopFollowing(); // no feed, or no key
    if (error.status === 410) { feed.cursor = null; await refresh().catch(() => {}); }
  }
  follow();
}

function follow() {
  clearTimeout(feed.timer);
  if (!document.hidden && !$("app").hidden) feed.timer = setTimeout(pollChanges, FEED_MS);
}

function stopFollowing() { clearTimeout(feed.timer); feed.cursor = null; }

// ---- the key -----------------------------------------------------------------------

async function start() {
  $("app").hidden = false;
  $("forget").hidden = false;
  $("key-form").hidden = true;
  await feedLatest().catch(() => {}); // first, so that no change after the list is missed
  await Promise.all([firstPage(), loadUsage()]);
  follow();
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
    throw error;
  }
}

function forget() {
  sessionStorage.removeItem(KEY);
  stopFollowing();
  closeEditor();
  $("app").hidden = true;
  $("forget").hidden = true;
  $("key-form").hidden = false;
  say("Paste the API key that make run printed (make key TENANT=... prints another).");
}

function wire() {
  const on = (id, event, handler) => $(id).addEventListener(event, act(handler));
  on("key-form", "submit", useKey);
  on("forget", "click", forget);
  on("search", "submit", (e) => { e.preventDefault(); return firstPage(); });
  on("prev", "click", () => { state.page -= 1; return loadList(); });
  on("next", "click", () => { state.cursors[state.page + 1] = state.next; state.page += 1; return loadList(); });
  on("new", "click", () => { showEditor(null, ""); $("name").focus(); }); // focus scrolls to it
  on("save", "click", save);
  on("name-form", "submit", rename);
  on("delete", "click", remove);
  on("close", "click", closeEditor);
  on("reload", "click", () => openFile(state.file.id));
  on("open-anyway", "click", () => openFile(state.file.id, true));
  on("download-large", "click", () => download(state.file));
  on("upload", "change", () => uploadAll($("upload").files));
  on("export", "click", exportAll);
  document.addEventListener("keydown", saveKey);
  document.addEventListener("visibilitychange", () => (document.hidden ? clearTimeout(feed.timer) : follow()));
  wireDrops();
}

document.addEventListener("DOMContentLoaded", () => {
  wire();
  if (sessionStorage.getItem(KEY)) start().catch((error) => { forget(); fail(error); });
  else forget();
});
