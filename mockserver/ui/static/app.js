// The dashboard: resources live, one resource in detail, scenarios, the clock and the journal.
// Plain ES modules, no build step: the mock serves these files as they are.

import { subscribe } from "./api.js";
import { initEditor, setEditorApis } from "./editor.js";
import { addJournal, refreshStreams } from "./journal.js";
import { $, act, h, isoTime, mockNow, notify, state } from "./page.js";
import { applyFilters, closeDetail, drawChart, fillStateFilter, fillTimes, key, refreshCounts, remove, resourcePath, upsertAll } from "./resources.js";
import { loadScenarios, showScenarios } from "./scenarios.js";

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
  refreshStreams();
}

// -- the live feed ------------------------------------------------------------------------
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
