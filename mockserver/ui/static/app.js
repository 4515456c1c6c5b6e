// The dashboard: resources live, one resource in detail, scenarios, the clock and the journal.
// Plain ES modules, no build step: the mock serves these files as they are.

import { call, subscribe } from "./api.js";
import { drawTimeline, formatSpan, resourceSegments, scenarioSegments } from "./chart.js";
import { initEditor, setEditorApis } from "./editor.js";

const $ = (selector) => document.querySelector(selector);
const MAX_JOURNAL_ROWS = 500;

const state = {
  apis: {}, // name -> {states, stream}
  resources: new Map(), // "api/id" -> {row, tr}
  clock: { mode: "real", speed: 1, now: 0, at: performance.now() },
  scenarios: {},
  journal: [],
  selected: null, // {api, id, controller, data}
};

// -- helpers ----------------------------------------------------------------------------------
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else if (key === "text") node.textContent = value;
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

export function mockNow() {
  const c = state.clock;
  return c.mode === "manual" ? c.now : c.now + ((performance.now() - c.at) / 1000) * c.speed;
}

function isoTime(epoch) {
  if (typeof epoch === "string") return epoch;
  return new Date(epoch * 1000).toISOString().replace("T", " ").replace("Z", "");
}

function shortTime(value) {
  const text = isoTime(value);
  return text.includes(" ") ? text.split(" ")[1].slice(0, 12) : text;
}

export function notify(message, kind = "error") {
  const box = $("#notice");
  box.textContent = message;
  box.className = kind;
  box.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => (box.hidden = true), 6000);
}

async function act(method, path, body, done) {
  try {
    const result = await call(method, path, body);
    if (done) done(result);
    return result;
  } catch (error) {
    notify(error.message);
    return null;
  }
}

// -- the clock --------------------------------------------------------------------------------
function setClock(view) {
  // the admin API's clock answer has ISO "now" and "epoch"; the event stream's has epoch "now"
  const now = typeof view.epoch === "number" ? view.epoch : view.now;
  state.clock = { mode: view.mode, speed: view.speed, now, at: performance.now() };
  $("#clock-mode").textContent = view.mode === "manual" ? "manual clock" : view.speed === 1 ? "real clock" : `real clock ×${view.speed}`;
  $("#clock-buttons").hidden = view.mode !== "manual";
  tick();
}

function nextChange() {
  let soonest = null;
  for (const { row } of state.resources.values()) {
    if (!row.terminal && row.next_change_at !== null && (soonest === null || row.next_change_at < soonest)) soonest = row.next_change_at;
  }
  return soonest;
}

function tick() {
  const now = mockNow();
  $("#clock-now").textContent = isoTime(now);
  $("#clock-next").disabled = nextChange() === null;
  for (const { row, tr } of state.resources.values()) {
    if (!tr.hidden) fillTimes(tr, row, now);
  }
  if (state.selected && state.selected.data) drawChart(state.selected.data);
}

// -- resources --------------------------------------------------------------------------------
const key = (row) => `${row.api}/${row.id}`;

function fillTimes(tr, row, now) {
  const next = tr.cells[5];
  const age = tr.cells[6];
  const nextText = row.terminal ? "—" : row.next_change_at === null ? "on reads / never" : row.next_change_at <= now ? "now" : `in ${formatSpan(row.next_change_at - now)}`;
  if (next.textContent !== nextText) next.textContent = nextText;
  const ageText = formatSpan(Math.max(0, now - row.created_at));
  if (age.textContent !== ageText) age.textContent = ageText;
}

// The filters as they are now, read from the page once per batch of rows (not once per row).
function filters() {
  return { api: $("#filter-api").value, state: $("#filter-state").value, text: $("#filter-text").value.trim().toLowerCase() };
}

function matches(row, f = filters()) {
  return (!f.api || row.api === f.api) && (!f.state || row.state === f.state) && (!f.text || row.id.toLowerCase().includes(f.text) || row.scenario.toLowerCase().includes(f.text));
}

// Add or update a row; new rows go first, or into `fresh` (a fragment) when a batch is built.
function upsert(row, f = filters(), fresh = null) {
  const k = key(row);
  let item = state.resources.get(k);
  if (!item) {
    const tr = h("tr", { "data-key": k, "data-api": row.api, tabIndex: 0 });
    for (const name of ["id", "api", "scenario", "state", "reads", "next", "age"]) tr.append(h("td", { class: name }));
    tr.addEventListener("click", () => select(row.api, row.id));
    tr.addEventListener("keydown", (event) => event.key === "Enter" && select(row.api, row.id));
    item = { row, tr };
    state.resources.set(k, item);
    if (fresh) fresh.prepend(tr);
    else $("#resources tbody").prepend(tr); // newest first
  }
  item.row = row;
  const tr = item.tr;
  const cells = [row.id, row.api, row.scenario, row.state, String(row.reads)];
  cells.forEach((text, index) => {
    if (tr.cells[index].textContent !== text) tr.cells[index].textContent = text;
  });
  tr.cells[3].className = `state${row.terminal ? " terminal" : ""}`;
  tr.dataset.state = row.state;
  tr.hidden = !matches(row, f);
  if (!tr.hidden) fillTimes(tr, row, mockNow());
}

function upsertAll(rows) {
  const f = filters();
  const fresh = document.createDocumentFragment();
  for (const row of rows) upsert(row, f, fresh);
  $("#resources tbody").prepend(fresh);
  refreshCounts();
}

function remove(k) {
  const item = state.resources.get(k);
  if (!item) return;
  item.tr.remove();
  state.resources.delete(k);
}

function refreshCounts() {
  const shown = [...state.resources.values()].filter((item) => !item.tr.hidden).length;
  $("#count-resources").textContent = String(state.resources.size);
  $("#shown").textContent = `${shown} of ${state.resources.size} shown`;
  $("#resources-empty").hidden = state.resources.size > 0;
}

function applyFilters() {
  const f = filters();
  for (const { row, tr } of state.resources.values()) {
    tr.hidden = !matches(row, f);
    if (!tr.hidden) fillTimes(tr, row, mockNow());
  }
  refreshCounts();
}

function fillStateFilter() {
  const api = $("#filter-api").value;
  const select = $("#filter-state");
  const current = select.value;
  const states = api ? state.apis[api].states : [...new Set(Object.values(state.apis).flatMap((a) => a.states))];
  select.replaceChildren(h("option", { value: "", text: "all" }), ...states.map((s) => h("option", { value: s, text: s })));
  select.value = states.includes(current) ? current : "";
}

// -- one resource -------------------------------------------------------------------------------
function select(api, id) {
  if (state.selected) state.selected.controller.abort();
  const controller = new AbortController();
  state.selected = { api, id, controller, data: null, text: "" };
  for (const item of state.resources.values()) item.tr.classList.toggle("selected", item.tr.dataset.key === `${api}/${id}`);
  $("#detail").hidden = false;
  $("#detail-title").textContent = `${api} ${id}`;
  $("#detail-text").textContent = "";
  $("#detail-journal tbody").replaceChildren();
  const path = `/__mock/resources/${encodeURIComponent(api)}/${encodeURIComponent(id)}/events`;
  subscribe(path, (event, data) => onDetailEvent(event, data), { signal: controller.signal, onState: (s) => s === "gone" && closeDetail() });
}

function closeDetail() {
  if (state.selected) state.selected.controller.abort();
  state.selected = null;
  $("#detail").hidden = true;
  for (const item of state.resources.values()) item.tr.classList.remove("selected");
}

function onDetailEvent(event, data) {
  const selected = state.selected;
  if (!selected) return;
  if (event === "detail") {
    selected.data = data;
    showDetail(data);
    upsert(summaryOf(data));
  } else if (event === "text") {
    const pre = $("#detail-text");
    if (data.append) pre.textContent += data.text;
    else pre.textContent = data.text;
    pre.scrollTop = pre.scrollHeight;
    $("#detail-stream-progress").textContent = `${data.due} of ${data.of} tokens`;
  } else if (event === "journal") {
    const body = $("#detail-journal tbody");
    for (const entry of data.entries) {
      body.prepend(h("tr", {}, h("td", { text: shortTime(entry.time) }), h("td", { text: entry.method }), h("td", { text: entry.path }), h("td", { text: String(entry.status) }), h("td", { text: latency(entry) })));
    }
  } else if (event === "deleted") {
    notify(`${data.api} ${data.id} was deleted`, "info");
    closeDetail();
  }
}

function summaryOf(data) {
  const { api, id, scenario, state: s, terminal, reads, created_at, changed_at, next_change_at } = data;
  return { api, id, scenario, state: s, terminal, reads, created_at, changed_at, next_change_at };
}

function showDetail(data) {
  const stateBox = $("#detail-state");
  stateBox.textContent = data.state;
  stateBox.className = `state${data.terminal ? " terminal" : ""}`;
  $("#detail-meta").textContent = `scenario ${data.scenario} · ${data.reads} reads since last change · created ${isoTime(data.created_at)}${data.watchers ? ` · ${data.watchers} watching` : ""}`;
  $("#btn-next").disabled = data.terminal || data.step === null || data.step + 1 >= data.steps.length;
  $("#btn-cancel").disabled = !data.can_cancel;
  drawChart(data);
  $("#detail-history tbody").replaceChildren(
    ...data.history.map((entry) =>
      h("tr", {}, h("td", { text: entry.state }), h("td", { text: shortTime(entry.at) }), h("td", { text: entry.cause }), h("td", { text: Object.keys(entry.values).length ? JSON.stringify(entry.values) : "" })),
    ),
  );
  $("#detail-stream-box").hidden = !data.streams;
  $("#detail-callback-box").hidden = !data.callback;
  if (data.callback) {
    const outcome = data.callback.outcome;
    $("#detail-callback").textContent = outcome
      ? outcome.error
        ? `failed: ${outcome.error}`
        : `delivered at ${isoTime(outcome.sent_at)}: HTTP ${outcome.status_code}`
      : data.callback.pending
        ? "waiting for a terminal state"
        : "none requested (no callback URL in the create request)";
  }
  $("#detail-request").textContent = JSON.stringify(data.request, null, 2);
}

function drawChart(data) {
  const now = mockNow();
  const states = state.apis[data.api] ? state.apis[data.api].states : [];
  const segments = resourceSegments(data, now);
  $("#detail-chart").replaceChildren(drawTimeline(segments, states, { now, origin: data.created_at, width: 560, height: 60 }));
}

function resourcePath(suffix = "") {
  const { api, id } = state.selected;
  return `/__mock/resources/${encodeURIComponent(api)}/${encodeURIComponent(id)}${suffix}`;
}

// -- scenarios ----------------------------------------------------------------------------------
function showScenarios(listing) {
  state.scenarios = listing;
  const box = $("#scenario-apis");
  box.replaceChildren();
  for (const [api, info] of Object.entries(listing)) {
    const states = state.apis[api] ? state.apis[api].states : [];
    const list = h("div", { class: "scenario-list" });
    for (const scenario of info.scenarios) {
      const isDefault = scenario.name === info.default;
      const strip = drawTimeline(scenarioSegments(scenario.steps), states, { width: 260, height: 28, small: true });
      list.append(
        h(
          "div",
          { class: `scenario-card${isDefault ? " default" : ""}`, "data-scenario": scenario.name },
          h("div", { class: "scenario-name" }, h("strong", { text: scenario.name }), isDefault ? h("span", { class: "pill", text: "default" }) : "", scenario.match ? h("code", { text: scenario.match }) : ""),
          h("div", { class: "muted scenario-description", text: scenario.description }),
          strip,
          h(
            "div",
            { class: "actions" },
            h("button", { type: "button", class: "set-default", text: "Set default", disabled: isDefault, onclick: () => act("PUT", `/__mock/scenarios/${api}/default`, { name: scenario.name }, loadScenarios) }),
            h("button", { type: "button", class: "queue-next", text: "Queue for next", onclick: () => act("POST", `/__mock/scenarios/${api}/next`, { name: scenario.name }, loadScenarios) }),
            h("button", { type: "button", class: "edit", text: "Edit", onclick: () => editScenario(api, scenario.name) }),
          ),
        ),
      );
    }
    box.append(
      h("section", { class: "scenario-api", "data-api": api }, h("h2", {}, api, " ", h("span", { class: "muted queued", text: info.queued.length ? `queued for next: ${info.queued.join(", ")}` : "" })), list),
    );
  }
}

async function loadScenarios() {
  const listing = await act("GET", "/__mock/ui/scenarios");
  if (listing) showScenarios(listing);
}

async function editScenario(api, name) {
  const found = await act("GET", `/__mock/ui/scenarios/${encodeURIComponent(api)}/${encodeURIComponent(name)}`);
  if (!found) return;
  window.dispatchEvent(new CustomEvent("edit-scenario", { detail: found }));
}

// -- journal ----------------------------------------------------------------------------------
function latency(entry) {
  return typeof entry.latency_ms === "number" ? entry.latency_ms.toFixed(1) : String(entry.latency_ms);
}

function journalRow(entry) {
  const tr = h(
    "tr",
    { class: entry.status >= 400 ? "failed" : "", "data-api": entry.api || "" },
    h("td", { text: shortTime(entry.time) }),
    h("td", { text: entry.method }),
    h("td", { text: entry.path + (entry.query ? `?${entry.query}` : "") }),
    h("td", { class: "status", text: String(entry.status) }),
    h("td", { text: `${latency(entry)} ms` }),
    h("td", { text: entry.api || "" }),
    h("td", { text: entry.scenario || "" }),
  );
  tr.addEventListener("click", () => showEntry(entry, tr));
  tr.hidden = Boolean($("#journal-api").value) && entry.api !== $("#journal-api").value;
  return tr;
}

function addJournal(entries, replace = false) {
  const body = $("#journal tbody");
  if (replace) body.replaceChildren();
  for (const entry of entries) body.prepend(journalRow(entry));
  while (body.rows.length > MAX_JOURNAL_ROWS) body.lastElementChild.remove();
  $("#count-journal").textContent = String(body.rows.length);
}

function showEntry(entry, tr) {
  for (const row of $("#journal tbody").rows) row.classList.toggle("selected", row === tr);
  $("#journal-entry").hidden = false;
  $("#journal-entry-title").textContent = `${entry.method} ${entry.path} → ${entry.status}`;
  const parts = [];
  // bodies first (whatever the journal keeps of them), then everything else the entry holds
  const bodyKeys = Object.keys(entry).filter((k) => /body/i.test(k));
  for (const k of bodyKeys) parts.push(h("h3", { text: k.replace(/_/g, " ") }), h("pre", { class: "json body", text: pretty(entry[k]) }));
  const rest = Object.fromEntries(Object.entries(entry).filter(([k]) => !bodyKeys.includes(k)));
  parts.push(h("h3", { text: "entry" }), h("pre", { class: "json", text: JSON.stringify(rest, null, 2) }));
  $("#journal-entry-bodies").replaceChildren(...parts);
}

function pretty(value) {
  if (value === null || value === undefined) return "(none)";
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

// -- the live feed --------------------------------------------------------------------------------
function onEvent(event, data) {
  if (event === "snapshot") {
    state.apis = data.apis;
    for (const select of [$("#filter-api"), $("#journal-api")]) {
      const current = select.value;
      select.replaceChildren(h("option", { value: "", text: "all" }), ...Object.keys(data.apis).map((a) => h("option", { value: a, text: a })));
      select.value = data.apis[current] ? current : "";
    }
    fillStateFilter();
    setEditorApis(Object.keys(data.apis));
    const seen = new Set(data.resources.map(key));
    for (const k of [...state.resources.keys()]) if (!seen.has(k)) remove(k);
    setClock(data.clock);
    upsertAll([...data.resources].sort((a, b) => a.created_at - b.created_at));
    addJournal(data.journal, true);
    showScenarios(data.scenarios);
  } else if (event === "resources") {
    upsertAll(data);
  } else if (event === "deleted") {
    for (const gone of data) remove(`${gone.api}/${gone.id}`);
    refreshCounts();
  } else if (event === "journal") {
    addJournal(data.entries);
    $("#journal-dropped").textContent = data.dropped ? `${data.dropped} entries skipped while the page was busy` : "";
  } else if (event === "clock") {
    setClock(data);
  }
}

function setLive(status, code) {
  const pill = $("#live");
  pill.className = `pill ${status}`;
  pill.textContent = status === "refused" ? `refused (${code}): open as /__mock/ui#token=…` : status;
}

function showView(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.view === name);
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
  if (name === "scenarios") loadScenarios();
}

function start() {
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showView(tab.dataset.view));
  $("#filter-api").addEventListener("change", () => {
    fillStateFilter();
    applyFilters();
  });
  $("#filter-state").addEventListener("change", applyFilters);
  $("#filter-text").addEventListener("input", applyFilters);
  $("#journal-api").addEventListener("change", () => {
    for (const tr of $("#journal tbody").rows) tr.hidden = Boolean($("#journal-api").value) && tr.dataset.api !== $("#journal-api").value;
  });
  $("#journal-clear").addEventListener("click", () => act("DELETE", "/__mock/journal", {}, () => addJournal([], true)));
  $("#journal-entry-close").addEventListener("click", () => ($("#journal-entry").hidden = true));
  $("#detail-close").addEventListener("click", closeDetail);
  $("#btn-next").addEventListener("click", () => act("POST", resourcePath("/next")));
  $("#btn-cancel").addEventListener("click", () => act("POST", resourcePath("/cancel")));
  $("#btn-delete").addEventListener("click", () => act("DELETE", resourcePath()));
  $("#clock-1").addEventListener("click", () => act("POST", "/__mock/clock", { seconds: 1 }, setClock));
  $("#clock-10").addEventListener("click", () => act("POST", "/__mock/clock", { seconds: 10 }, setClock));
  $("#clock-next").addEventListener("click", () => act("POST", "/__mock/clock/next-change", {}, setClock));
  initEditor({ act, notify, reload: loadScenarios });
  subscribe("/__mock/events", onEvent, { signal: new AbortController().signal, onState: setLive });
  setInterval(tick, 500);
}

start();
