// The journal: requests as they arrive, everything recorded about one on click.

import { formatSpan } from "./chart.js";
import { $, h, shortTime, state } from "./page.js";

const MAX_JOURNAL_ROWS = 500;

// A stream's journal entry is written when its response starts, so its latency is the time to
// open it (a fraction of a millisecond), not how long it streamed: the stream is shown as what it
// is, open or, once its resource has ended (which ends the stream), how long that took.
function isStream(entry) {
  const api = entry.api && state.apis[entry.api];
  return Boolean(api && api.stream_operation && entry.operation === api.stream_operation && entry.status < 300);
}

function ms(entry) {
  return typeof entry.latency_ms === "number" ? `${entry.latency_ms.toFixed(1)} ms` : String(entry.latency_ms);
}

export function latency(entry) {
  if (!isStream(entry)) return ms(entry);
  const item = entry.resource_id ? state.resources.get(`${entry.api}/${entry.resource_id}`) : null;
  const row = item && item.row;
  if (row && row.terminal && typeof entry.epoch === "number") return `stream ${formatSpan(Math.max(0, row.changed_at - entry.epoch))}`;
  return "stream open";
}

// The cell of a journal row's latency (a stream's time to open in its tooltip).
export function latencyCell(entry) {
  return h("td", { class: "latency", text: latency(entry), title: isStream(entry) ? `opened in ${ms(entry)}; lasts until its resource ends` : "" });
}

function journalRow(entry) {
  const tr = h(
    "tr",
    { class: entry.status >= 400 ? "failed" : "", "data-api": entry.api || "" },
    h("td", { text: shortTime(entry.time) }),
    h("td", { text: entry.method }),
    h("td", { text: entry.path + (entry.query ? `?${entry.query}` : "") }),
    h("td", { class: "status", text: String(entry.status) }),
    latencyCell(entry),
    h("td", { text: entry.api || "" }),
    h("td", { text: entry.scenario || "" }),
  );
  tr.entry = entry;
  tr.addEventListener("click", () => showEntry(entry, tr));
  tr.hidden = Boolean($("#journal-api").value) && entry.api !== $("#journal-api").value;
  return tr;
}

// Streams' rows say "open" until their resource ends: brought up to date on the page's tick.
export function refreshStreams() {
  for (const body of [$("#journal tbody"), $("#detail-journal tbody")]) {
    for (const tr of body.rows) {
      if (!tr.entry || !isStream(tr.entry)) continue;
      const cell = tr.querySelector("td.latency");
      const text = latency(tr.entry);
      if (cell && cell.textContent !== text) cell.textContent = text;
    }
  }
}

export function addJournal(entries, replace = false) {
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
