// The journal: requests as they arrive, everything recorded about one on click.

import { $, h, shortTime } from "./page.js";

const MAX_JOURNAL_ROWS = 500;

export function latency(entry) {
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
