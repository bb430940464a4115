// textfiles web page, part 4: a file's history (versions, a diff between two, restore) and
// the trash (restore, delete for good). Loaded after app.js; text only via textContent.
"use strict";

function radio(group, version, checked) {
  const r = document.createElement("input");
  r.type = "radio";
  r.name = group;
  r.value = String(version);
  r.checked = checked;
  r.setAttribute("aria-label", `${group} version ${version}`);
  return r;
}

// ---- history -----------------------------------------------------------------------

function versionRow(v, i) {
  const tr = document.createElement("tr");
  tr.dataset.version = String(v.version);
  const label = `v${v.version}${v.superseded_at ? "" : " (current)"}`;
  const actions = document.createElement("span");
  actions.append(button("View", () => viewVersion(v)));
  if (v.superseded_at) actions.append(" ", button("Restore", () => restoreVersion(v)));
  tr.append(cell(radio("from", v.version, i === 1)), cell(radio("to", v.version, i === 0)),
    cell(label), cell(when(v.created_at)), cell(size(v.size), "num"), cell(actions));
  return tr;
}

async function loadHistory() {
  if (!state.file) return;
  const data = await json("GET", `${fileUrl(state.file.id)}/versions?limit=100`);
  $("version-rows").replaceChildren(...data.items.map(versionRow));
  $("diff").disabled = data.items.length < 2;
  $("history").hidden = false;
}

function show(title, lines) {
  $("version-title").textContent = title;
  $("version-view").replaceChildren(...lines);
  $("version-view").hidden = false;
}

async function viewVersion(v) {
  const text = await (await api("GET", `${fileUrl(state.file.id)}/versions/${v.version}`)).text();
  show(`Version ${v.version} of ${v.name}, written ${when(v.created_at)}:`, [text]);
}

function diffLine(line) {
  const span = document.createElement("span");
  span.textContent = line + "\n";
  const kind = { "+": "add", "-": "del", "@": "hunk" }[line[0]];
  if (kind && !line.startsWith("+++") && !line.startsWith("---")) span.className = kind;
  return span;
}

async function showDiff() {
  const pick = (group) => document.querySelector(`#version-rows input[name=${group}]:checked`);
  const from = pick("from"), to = pick("to");
  if (!from || !to) throw new Error("Choose a version to compare from and one to compare to.");
  const query = new URLSearchParams({ from: from.value, to: to.value });
  const text = await (await api("GET", `${fileUrl(state.file.id)}/diff?${query}`)).text();
  const lines = text ? text.replace(/\n$/, "").split("\n").map(diffLine) : ["(no changes)"];
  show(`Changes from version ${from.value} to version ${to.value}:`, lines);
}

async function restoreVersion(v) {
  const path = `${fileUrl(state.file.id)}/versions/${v.version}/restore`;
  const file = await (await api("POST", path, undefined, undefined, { "If-Match": state.file.etag })).json();
  const text = await (await api("GET", fileUrl(file.id))).text();
  showEditor(file, text);
  say(`Restored version ${v.version} of ${file.name} as version ${file.version}.`);
  await Promise.all([refresh(), loadHistory()]);
}

// ---- the trash ---------------------------------------------------------------------

function trashRow(t) {
  const tr = document.createElement("tr");
  tr.dataset.id = t.id;
  const actions = document.createElement("span");
  actions.append(button("Restore", () => restoreTrashed(t)), " ",
    button("Delete for good", () => deleteTrashed(t)));
  tr.append(cell(t.name), cell(size(t.size), "num"), cell(when(t.deleted_at)), cell(actions));
  return tr;
}

async function loadTrash() {
  const data = await json("GET", "trash?limit=100");
  $("trash-rows").replaceChildren(...data.items.map(trashRow));
  $("trash-empty").hidden = data.items.length > 0;
  $("trash").hidden = false;
}

async function restoreTrashed(t) {
  const file = await json("POST", `trash/${encodeURIComponent(t.id)}/restore`);
  say(`Restored ${file.name}.`);
  await Promise.all([refresh(), loadTrash()]);
}

async function deleteTrashed(t) {
  await api("DELETE", `trash/${encodeURIComponent(t.id)}`);
  say(`Deleted ${t.name} for good.`);
  await Promise.all([loadUsage(), loadTrash()]);
}

// Opening another file, a new one, or closing the editor hides a stale history.
function wireHistory() {
  const on = (id, handler) => $(id).addEventListener("click", act(handler));
  on("show-history", loadHistory);
  on("diff", showDiff);
  on("show-trash", loadTrash);
  const hide = () => { $("history").hidden = true; $("version-view").hidden = true; };
  for (const id of ["close", "new", "delete", "rows"]) $(id).addEventListener("click", hide);
}

wireHistory();
