// Scenarios per API, each drawn as a small timeline, with set-default, queue and edit.

import { drawTimeline, scenarioSegments } from "./chart.js";
import { $, act, h, state } from "./page.js";

export function showScenarios(listing) {
  state.scenarios = listing;
  const box = $("#scenario-apis");
  box.replaceChildren();
  for (const [api, info] of Object.entries(listing)) {
    const states = state.apis[api] ? state.apis[api].states : [];
    const kinds = state.apis[api] ? state.apis[api].kinds : {};
    const list = h("div", { class: "scenario-list" });
    for (const scenario of info.scenarios) {
      const isDefault = scenario.name === info.default;
      const strip = drawTimeline(scenarioSegments(scenario.steps), states, { width: 260, height: 28, small: true, kinds });
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

export async function loadScenarios() {
  const listing = await act("GET", "/__mock/ui/scenarios");
  if (listing) showScenarios(listing);
}

async function editScenario(api, name) {
  const found = await act("GET", `/__mock/ui/scenarios/${encodeURIComponent(api)}/${encodeURIComponent(name)}`);
  if (!found) return;
  window.dispatchEvent(new CustomEvent("edit-scenario", { detail: found }));
}
