// The API reference: /openapi.json rendered as text (never as HTML): each operation's
// parameters, request body, responses with their schemas, a curl line, and a "Try it" form
// that calls this API with the key of this tab. The key reaches other open tabs of this site
// only when the person ticks "share" (BroadcastChannel: nothing is written to disk).
"use strict";

const $ = (id) => document.getElementById(id);
const KEY = "textfiles-key";
const METHODS = ["get", "head", "post", "put", "patch", "delete"];

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function resolve(doc, item) {
  if (!item || !item.$ref) return item;
  return item.$ref.slice(2).split("/").reduce((node, part) => node[part], doc);
}

function pretty(value) { return typeof value === "string" ? value : JSON.stringify(value, null, 2); }

function examplesOf(content) {
  const out = [];
  for (const [type, media] of Object.entries(content || {})) {
    if (media.example !== undefined) out.push([type, media.example]);
  }
  return out;
}

function section(title, ...children) {
  const box = el("div");
  box.append(el("h3", title), ...children);
  return box;
}

function parameterList(doc, params) {
  const list = el("ul");
  for (const p of params.map((x) => resolve(doc, x))) {
    const required = p.required ? ", required" : "";
    list.append(el("li", `${p.name} (${p.in}${required}): ${p.description || ""}`));
  }
  return section("Parameters", list);
}

function expand(doc, schema, depth = 0) {
  // The schema with its references written out (a few levels: ours nest at most twice).
  const node = resolve(doc, schema);
  if (depth > 4 || node === null || typeof node !== "object") return node;
  if (Array.isArray(node)) return node.map((item) => expand(doc, item, depth + 1));
  const out = {};
  for (const [k, v] of Object.entries(node)) out[k] = expand(doc, v, depth + 1);
  return out;
}

function responseList(doc, responses) {
  const box = section("Responses");
  for (const [code, raw] of Object.entries(responses)) {
    const response = resolve(doc, raw);
    box.append(el("p", `${code}: ${response.description}`));
    const media = Object.entries(response.content || {})[0];
    if (media && media[1].schema) {
      box.append(el("pre", `schema\n${pretty(expand(doc, media[1].schema))}`, "schema"));
    }
    for (const [type, example] of examplesOf(response.content)) {
      box.append(el("pre", `${type}\n${pretty(example)}`));
    }
  }
  return box;
}

function field(labelText, input) {
  const label = el("label");
  label.append(el("span", labelText), input);
  return label;
}

function curlLine(path, method, op, params) {
  // The operation as a curl command, the key from the environment (never this page's).
  const query = params.filter((p) => p.in === "query" && p.required)
    .map((p) => `${p.name}=${p.name.toUpperCase()}`).join("&");
  const url = `${location.origin}${path}${query ? "?" + query : ""}`;
  const parts = ["curl -s"];
  if (method === "head") parts.push("-I"); // curl -X HEAD would wait for a body
  else if (method !== "get") parts.push(`-X ${method.toUpperCase()}`);
  parts.push(`'${url}'`);
  if (!(op.security && !op.security.length)) parts.push(`-H "Authorization: Bearer $TEXTFILES_KEY"`);
  if (op.requestBody) {
    const media = Object.keys(op.requestBody.content)[0];
    parts.push(`-H 'Content-Type: ${media === "*/*" ? "text/plain" : media}'`, "--data-binary @FILE");
  }
  return section("curl", el("pre", parts.join(" "), "curl"));
}

function tryForm(path, method, op, params) {
  const form = el("form", undefined, "try");
  const inputs = params.map((p) => {
    const input = el("input");
    input.dataset.name = p.name;
    input.dataset.in = p.in;
    form.append(field(`${p.name} (${p.in})`, input));
    return input;
  });
  const media = op.requestBody ? Object.keys(op.requestBody.content)[0] : null;
  const body = el("textarea");
  if (media) {
    const example = op.requestBody.content[media].example;
    body.value = example === undefined ? "" : pretty(example);
    form.append(field(`body (${media})`, body));
  }
  const output = el("pre", "");
  const send = el("button", "Send", "send");
  send.type = "submit";
  form.append(send, output);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const empty = inputs.find((i) => i.dataset.in === "path" && !i.value.trim());
    if (empty) { output.textContent = `${empty.dataset.name} is required: fill it in first.`; return; }
    call(path, method, inputs, media, body.value).then(
      (text) => { output.textContent = text; },
      (error) => { output.textContent = String(error); },
    );
  });
  return section("Try it", form);
}

function request(path, inputs) {
  const query = new URLSearchParams();
  const headers = {};
  for (const input of inputs) {
    const { name, in: where } = input.dataset;
    if (where === "path") path = path.replace(`{${name}}`, encodeURIComponent(input.value));
    else if (input.value && where === "query") query.set(name, input.value);
    else if (input.value && where === "header") headers[name] = input.value;
  }
  const search = query.toString();
  return { url: path.replace(/^\/+/, "") + (search ? "?" + search : ""), headers };
}

async function call(path, method, inputs, media, body) {
  const { url, headers } = request(path, inputs);
  const key = $("key").value.trim();
  if (key) { sessionStorage.setItem(KEY, key); headers.Authorization = "Bearer " + key; }
  const init = { method: method.toUpperCase(), headers, cache: "no-store" };
  if (media) { headers["Content-Type"] = media === "*/*" ? "text/plain" : media; init.body = body; }
  const response = await fetch(url || "./", init);
  const lines = [`${response.status} ${response.statusText}`];
  for (const name of ["content-type", "etag", "location", "ratelimit-remaining", "retry-after"]) {
    if (response.headers.has(name)) lines.push(`${name}: ${response.headers.get(name)}`);
  }
  const text = await response.text();
  let shown = text;
  try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { shown = text; }
  return lines.join("\n") + "\n\n" + shown;
}

function operation(doc, path, method, op) {
  const box = el("details", undefined, "op");
  box.id = op.operationId;
  const summary = el("summary");
  summary.append(el("span", method, `verb ${method}`), el("span", path, "path"),
    el("span", op.summary || "", "summary"));
  const body = el("div", undefined, "op-body");
  const params = (op.parameters || []).map((p) => resolve(doc, p));
  body.append(el("p", `operationId: ${op.operationId}` + (op.security && !op.security.length ? " · no key needed" : "")));
  if (params.length) body.append(parameterList(doc, params));
  if (op.requestBody) {
    const content = op.requestBody.content;
    const text = `${Object.keys(content).join(", ")}${op.requestBody.description ? ": " + op.requestBody.description : ""}`;
    const req = section("Request body", el("p", text));
    for (const [type, example] of examplesOf(content)) req.append(el("pre", `${type}\n${pretty(example)}`));
    body.append(req);
  }
  body.append(responseList(doc, op.responses), curlLine(path, method, op, params),
    tryForm(path, method, op, params));
  box.append(summary, body);
  return box;
}

function shareKey() {
  // Other open tabs of this site get the key only while "share" is ticked here.
  if (!("BroadcastChannel" in window)) return;
  const channel = new BroadcastChannel(KEY);
  channel.onmessage = (event) => {
    const message = event.data || {};
    if (message.ask && $("share").checked && $("key").value) channel.postMessage({ key: $("key").value });
    if (message.key && !$("key").value) { $("key").value = message.key; sessionStorage.setItem(KEY, message.key); }
  };
  $("share").addEventListener("change", () => {
    if ($("share").checked && $("key").value) channel.postMessage({ key: $("key").value });
  });
  channel.postMessage({ ask: true });
}

async function main() {
  $("key").value = sessionStorage.getItem(KEY) || "";
  shareKey();
  const doc = await (await fetch("openapi.json", { cache: "no-store" })).json();
  $("description").textContent = `${doc.info.title} ${doc.info.version}: ${doc.info.description}`;
  const list = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of METHODS) if (ops[method]) list.push(operation(doc, path, method, ops[method]));
  }
  $("operations").replaceChildren(...list);
  $("status").textContent = `${list.length} operations. Open one to read it and try it.`;
}

main().catch((error) => {
  $("status").textContent = `Could not load the OpenAPI document: ${error}`;
  $("status").className = "error";
});
