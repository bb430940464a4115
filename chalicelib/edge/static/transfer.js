// textfiles web page, part 2: bytes in and out — uploads (several at once, dropped or
// picked), downloads, bodies above the inline limit through links, and the export.
"use strict";

const fileUrl = (id) => `files/${encodeURIComponent(id)}`;
const inlineLimit = () => state.limits.inline ?? Infinity;

function send(method, url, body, head, bar) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    // The browser sets Content-Length itself (the link is signed for the body's size).
    for (const [name, value] of Object.entries(head)) {
      if (name.toLowerCase() !== "content-length") xhr.setRequestHeader(name, value);
    }
    xhr.upload.addEventListener("progress", (e) => {
      if (bar && e.lengthComputable) { bar.max = e.total; bar.value = e.loaded; }
    });
    xhr.addEventListener("load", () => resolve(xhr));
    xhr.addEventListener("error", () => reject(new ApiError(0, "The upload did not reach the service.")));
    xhr.send(body);
  });
}

function xhrResult(xhr) {
  let data = {};
  try { data = JSON.parse(xhr.responseText || "{}"); } catch (e) { data = {}; }
  if (xhr.status >= 400) throw new ApiError(xhr.status, data.Message || `The upload answered ${xhr.status}.`);
  return data;
}

// A body above the inline limit: ask for a link (POST path), send the bytes there, complete.
async function viaLink(path, body, extra, bar) {
  const link = await (await api("POST", path, undefined, undefined, extra)).json();
  xhrResult(await send(link.method, link.url, body, link.headers, bar));
  return json("POST", relative(link.complete_url));
}

// Create (file null) or replace (If-Match) a body; `data` is a Blob or the editor's bytes.
async function store(file, data, bar) {
  const n = String(data.size ?? data.length);
  if (!file && Number(n) <= inlineLimit()) {
    const name = new URLSearchParams({ name: data.name });
    return xhrResult(await send("POST", "files?" + name, data, headers({ "Content-Type": TEXT }), bar));
  }
  if (!file) return viaLink("files/uploads?" + new URLSearchParams({ name: data.name, size: n }), data, {}, bar);
  if (Number(n) <= inlineLimit()) {
    return (await api("PUT", fileUrl(file.id), data, TEXT, { "If-Match": file.etag })).json();
  }
  return viaLink(`${fileUrl(file.id)}/uploads?size=${n}`, data, { "If-Match": file.etag }, bar);
}

// ---- uploads: each file its own line, progress and result; one failure stops no other --

function uploadLine(file) {
  const li = document.createElement("li");
  const bar = document.createElement("progress");
  bar.setAttribute("aria-label", `Uploading ${file.name}`);
  const result = document.createElement("span");
  result.textContent = `${file.name} (${size(file.size)}): waiting`;
  li.append(result, bar);
  $("uploads").append(li);
  return { li, bar, result };
}

async function uploadOne(file, line) {
  line.result.textContent = `${file.name} (${size(file.size)}): uploading`;
  try {
    await store(null, file, line.bar);
    line.result.textContent = `${file.name} (${size(file.size)}): uploaded`;
    line.li.className = "done";
    return true;
  } catch (error) {
    line.result.textContent = `${file.name}: not uploaded. ${explain(error)}`;
    line.li.className = "error";
    return false;
  } finally {
    line.bar.remove();
  }
}

async function uploadAll(files) {
  files = [...files];
  if (!files.length) return;
  $("uploads").replaceChildren();
  const lines = files.map(uploadLine);
  let ok = 0;
  for (const [i, file] of files.entries()) ok += await uploadOne(file, lines[i]);
  $("upload").value = "";
  await refresh();
  if (ok < files.length) throw new Error(`${files.length - ok} of ${files.length} files were not uploaded: see each one's reason below the list.`);
  say(files.length === 1 ? `Uploaded ${files[0].name} (${size(files[0].size)}).` : `Uploaded ${ok} files.`);
}

const carriesFiles = (event) => [...event.dataTransfer.types].includes("Files");

function dropped(event) {
  document.body.classList.remove("dragging");
  if (!carriesFiles(event)) return; // text dragged inside the page drops as usual
  event.preventDefault();
  if (event.type !== "drop" || $("app").hidden) return;
  clearError();
  uploadAll(event.dataTransfer.files).catch(fail);
}

function wireDrops() {
  document.addEventListener("dragover", (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    if (!$("app").hidden) document.body.classList.add("dragging");
  });
  for (const type of ["dragleave", "drop"]) document.addEventListener(type, dropped);
}

// ---- downloads: through fetch (the key never goes in a link), saved under the file's name --

async function download(file) {
  const blob = await (await api("GET", fileUrl(file.id))).blob(); // a large one: via its link
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = file.name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  say(`Downloaded ${file.name} (${size(blob.size)}).`);
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
    $("export-progress").hidden = true;
    loadUsage().catch(fail);
  }
}
