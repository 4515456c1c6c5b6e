// The scenario editor: YAML typed, pasted or uploaded, checked by the mock with the same checks and
// messages as scenario files, every problem marked at its line.

import { ApiError, call } from "./api.js";

const $ = (selector) => document.querySelector(selector);
let hooks = null;
let timer = null;
let checked = 0; // the newest check's number: older answers arriving late are ignored

const PLACEHOLDER = `api: letta
description: "Slow: created, running after 2 s, completed after 10 s more."
steps:
  - state: created
  - state: running
    after: 2s
  - state: completed
    after: 10s
`;

export function setEditorApis(apis) {
  const select = $("#editor-api");
  const current = select.value;
  select.replaceChildren(...apis.map((api) => Object.assign(document.createElement("option"), { value: api, textContent: api })));
  if (apis.includes(current)) select.value = current;
  $("#editor-text").placeholder = PLACEHOLDER;
  renderGutter([]);
}

export function initEditor(given) {
  hooks = given;
  const text = $("#editor-text");
  text.addEventListener("input", () => {
    renderGutter(null);
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  });
  text.addEventListener("scroll", () => ($("#editor-gutter").scrollTop = text.scrollTop));
  $("#editor-check").addEventListener("click", check);
  $("#editor-queue").addEventListener("click", queue);
  $("#editor-save").addEventListener("click", save);
  $("#editor-api").addEventListener("change", check);
  $("#editor-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    text.value = await file.text();
    $("#editor-name").value = file.name.replace(/\.(ya?ml|json)$/i, "") || "uploaded";
    event.target.value = "";
    await check();
  });
  window.addEventListener("edit-scenario", (event) => {
    const { api, name, text: source } = event.detail;
    $("#editor-api").value = api;
    $("#editor-name").value = name;
    text.value = source;
    check();
    $("#editor").scrollIntoView({ behavior: "smooth" });
  });
}

function payload() {
  return { name: $("#editor-name").value.trim() || "edited", text: $("#editor-text").value };
}

function apiPath(suffix) {
  return `/__mock/ui/scenarios/${encodeURIComponent($("#editor-api").value)}/${suffix}`;
}

async function check() {
  clearTimeout(timer);
  const number = ++checked;
  try {
    const result = await call("POST", apiPath("check"), payload());
    if (number !== checked) return null;
    showFindings(result.findings);
    status(result.ok ? `OK: ${result.scenario.steps.map((s) => s.state).join(" → ")}` : `${result.findings.length} problem(s)`, result.ok ? "ok" : "bad");
    return result;
  } catch (error) {
    status(error.message, "bad");
    return null;
  }
}

async function queue() {
  const result = await check();
  if (!result || !result.ok) return;
  const queued = await hooks.act("POST", apiPath("queue"), payload());
  if (queued) {
    status(`queued for the next ${queued.api} resource: ${queued.queued.join(", ")}`, "ok");
    hooks.reload();
  }
}

// Stores the scenario through the admin API's PUT /__mock/scenarios/{api}/{name} where this mock
// has it; a mock without it says so, and "Queue for next resource" still works.
async function save() {
  const result = await check();
  if (!result || !result.ok) return;
  const { name, text } = payload();
  const path = `/__mock/scenarios/${encodeURIComponent($("#editor-api").value)}/${encodeURIComponent(name)}`;
  try {
    await call("PUT", path, text, { contentType: "application/yaml" });
    status(`saved as ${name}`, "ok");
    hooks.reload();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 405)) status("this mock cannot store scenarios over HTTP; use “Queue for next resource”", "bad");
    else if (error instanceof ApiError && error.body && Array.isArray(error.body.problems)) showFindings(error.body.problems);
    else status(error.message, "bad");
  }
}

function status(text, kind) {
  const box = $("#editor-status");
  box.textContent = text;
  box.className = kind;
}

// Each finding at its line: the gutter marks the line, the list says what is wrong there.
function showFindings(findings) {
  const list = $("#editor-findings");
  list.replaceChildren(
    ...findings.map((finding) => {
      const item = document.createElement("li");
      const line = finding.line;
      if (line !== null && line !== undefined) item.dataset.line = String(line);
      const where = document.createElement("span");
      where.className = "where";
      where.textContent = line ? `line ${line}` : "file";
      const what = document.createElement("span");
      what.textContent = ` ${finding.pointer || "/"}: ${finding.message}${finding.found ? `; found ${finding.found}` : ""}${finding.expected ? `; expected ${finding.expected}` : ""}${finding.suggestion ? `; did you mean '${finding.suggestion}'?` : ""}`;
      item.append(where, what);
      if (line) item.addEventListener("click", () => selectLine(line));
      return item;
    }),
  );
  renderGutter(findings);
}

function renderGutter(findings) {
  const gutter = $("#editor-gutter");
  const count = $("#editor-text").value.split("\n").length;
  const marked = new Map();
  for (const finding of findings || []) if (finding.line) marked.set(finding.line, [...(marked.get(finding.line) || []), finding.message]);
  if (findings === null) {
    for (const node of gutter.querySelectorAll(".line.error")) marked.set(Number(node.dataset.line), [node.title]);
  }
  const lines = [];
  for (let n = 1; n <= count; n++) {
    const line = document.createElement("div");
    line.className = marked.has(n) ? "line error" : "line";
    line.dataset.line = String(n);
    line.textContent = String(n);
    if (marked.has(n)) line.title = marked.get(n).join("\n");
    lines.push(line);
  }
  gutter.replaceChildren(...lines);
  gutter.scrollTop = $("#editor-text").scrollTop;
}

function selectLine(line) {
  const text = $("#editor-text");
  const lines = text.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0);
  text.focus();
  text.setSelectionRange(start, start + (lines[line - 1] || "").length);
}
