// The resource list (live rows, filters) and one resource in detail (its own event stream).

import { subscribe } from "./api.js";
import { drawTimeline, formatSpan, resourceSegments } from "./chart.js";
import { latencyCell } from "./journal.js";
import { $, h, isoTime, mockNow, notify, shortTime, state } from "./page.js";

export const key = (row) => `${row.api}/${row.id}`;

// A terminal state is coloured by how it ended (success, failure, cancel; from the lifecycle), with a
// mark before it (style.css) and a tooltip, so that colour is not the only cue.
const KIND_WORDS = { success: "succeeded", failure: "failed", cancel: "cancelled" };

export function stateClass(row) {
  return `state${row.terminal ? ` terminal kind-${row.kind || "success"}` : ""}`;
}

function kindTitle(row) {
  return row.terminal ? `terminal: ${KIND_WORDS[row.kind || "success"]}` : "in progress";
}

export function fillTimes(tr, row, now) {
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

// The state filter holds a state of the chosen API ("state:NAME"), or, across all APIs, how far a
// resource got ("kind:working", "kind:success", ...): state names differ between APIs.
function stateMatches(row, wanted) {
  if (!wanted) return true;
  const [by, value] = wanted.split(":");
  if (by === "state") return row.state === value;
  return row.terminal ? (row.kind || "success") === value : value === "working";
}

function matches(row, f = filters()) {
  return (!f.api || row.api === f.api) && stateMatches(row, f.state) && (!f.text || row.id.toLowerCase().includes(f.text) || row.scenario.toLowerCase().includes(f.text));
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
  tr.cells[3].className = stateClass(row);
  tr.cells[3].title = kindTitle(row);
  tr.dataset.state = row.state;
  tr.hidden = !matches(row, f);
  if (!tr.hidden) fillTimes(tr, row, mockNow());
}

export function upsertAll(rows) {
  const f = filters();
  const fresh = document.createDocumentFragment();
  for (const row of rows) upsert(row, f, fresh);
  $("#resources tbody").prepend(fresh);
  refreshCounts();
}

export function remove(k) {
  const item = state.resources.get(k);
  if (!item) return;
  item.tr.remove();
  state.resources.delete(k);
}

export function refreshCounts() {
  const shown = [...state.resources.values()].filter((item) => !item.tr.hidden).length;
  $("#count-resources").textContent = String(state.resources.size);
  $("#shown").textContent = `${shown} of ${state.resources.size} shown`;
  $("#resources-empty").hidden = state.resources.size > 0;
}

export function applyFilters() {
  const f = filters();
  for (const { row, tr } of state.resources.values()) {
    tr.hidden = !matches(row, f);
    if (!tr.hidden) fillTimes(tr, row, mockNow());
  }
  refreshCounts();
}

export function fillStateFilter() {
  const api = $("#filter-api").value;
  const select = $("#filter-state");
  const current = select.value;
  const options = api
    ? state.apis[api].states.map((s) => h("option", { value: `state:${s}`, text: s, title: state.apis[api].shows[s] }))
    : ["working", "success", "failure", "cancel"].map((k) => h("option", { value: `kind:${k}`, text: k === "working" ? "in progress" : KIND_WORDS[k] }));
  select.replaceChildren(h("option", { value: "", text: "all" }), ...options);
  select.value = options.some((option) => option.value === current) ? current : "";
}


// -- one resource ------------------------------------------------------------------------------
export function select(api, id) {
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

export function closeDetail() {
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
      const tr = h("tr", {}, h("td", { text: shortTime(entry.time) }), h("td", { text: entry.method }), h("td", { text: entry.path }), h("td", { text: String(entry.status) }), latencyCell(entry));
      tr.entry = entry;
      body.prepend(tr);
    }
  } else if (event === "deleted") {
    notify(`${data.api} ${data.id} was deleted`, "info");
    closeDetail();
  }
}

function summaryOf(data) {
  const { api, id, scenario, state: s, terminal, kind, reads, created_at, changed_at, next_change_at } = data;
  return { api, id, scenario, state: s, terminal, kind, reads, created_at, changed_at, next_change_at };
}

function showDetail(data) {
  const stateBox = $("#detail-state");
  stateBox.textContent = data.state;
  stateBox.className = stateClass(data);
  stateBox.title = kindTitle(data);
  $("#detail-meta").textContent = `scenario ${data.scenario} · ${data.reads} reads since last change · created ${isoTime(data.created_at)}${data.watchers ? ` · ${data.watchers} watching` : ""}`;
  $("#btn-next").disabled = data.terminal || data.step === null || data.step + 1 >= data.steps.length;
  $("#btn-cancel").disabled = !data.can_cancel;
  drawChart(data);
  $("#detail-history tbody").replaceChildren(
    ...data.history.map((entry) =>
      h("tr", {}, h("td", { text: entry.state }), h("td", { text: shortTime(entry.at) }), h("td", { text: entry.cause }), h("td", { text: Object.entries(entry.values).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join("\n") })),
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

export function drawChart(data) {
  const now = mockNow();
  const states = state.apis[data.api] ? state.apis[data.api].states : [];
  const segments = resourceSegments(data, now);
  const kinds = state.apis[data.api] ? state.apis[data.api].kinds : {};
  $("#detail-chart").replaceChildren(drawTimeline(segments, states, { now, origin: data.created_at, width: 560, height: 60, kinds }));
}

export function resourcePath(suffix = "") {
  const { api, id } = state.selected;
  return `/__mock/resources/${encodeURIComponent(api)}/${encodeURIComponent(id)}${suffix}`;
}
