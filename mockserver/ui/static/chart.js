// Timelines drawn as SVG: a resource's states over time (past solid, planned future hatched and
// outlined with dashes), and a scenario's steps as a small strip.

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f", "#bab0ac"];

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// Terminal states take the colour of how they ended (as in the list); the others a palette colour.
const KIND_COLOURS = { success: "#1e8449", failure: "#c0392b", cancel: "#8a6d1f" };
const WORKING = PALETTE.filter((c) => !["#59a14f", "#e15759", "#edc948"].includes(c)); // not like a kind

export function colour(states, state, kinds = {}) {
  if (kinds[state]) return KIND_COLOURS[kinds[state]];
  const index = Math.max(0, states.indexOf(state));
  return WORKING[index % WORKING.length];
}

// Text of 11px system sans is about 6.5px a character: a label is drawn only where it fits whole
// (the segment's tooltip always names it), never cut to "pendin" by the next segment.
const fits = (text, width) => text.length * 6.5 + 8 <= width;

// The segments of a resource: where it has been (from its history), then what its scenario still
// plans (from the current step on). Steps that wait for reads have no time: they get a nominal width.
export function resourceSegments(resource, now) {
  const segments = [];
  const history = resource.history;
  history.forEach((entry, index) => {
    const next = history[index + 1];
    const end = next ? next.at : now;
    segments.push({ state: entry.state, from: entry.at, to: Math.max(end, entry.at), planned: false, cause: entry.cause });
  });
  const current = history[history.length - 1];
  if (resource.terminal) {
    // the end state gets a segment of its own even when it was reached just now (a manual clock):
    // a quarter of the time it took to get there, at least a second
    const last = segments[segments.length - 1];
    last.to = Math.max(last.to, last.from + Math.max(1, (current.at - resource.created_at) * 0.25));
    last.terminal = true;
    return segments;
  }
  if (resource.step === null || resource.step === undefined) return segments;
  let at = current.at;
  let nominal = false;
  const upcoming = resource.steps.slice(resource.step + 1);
  if (!upcoming.length) return segments;
  // the current state goes on until the next step begins
  const firstAt = upcoming[0].after !== null ? current.at + upcoming[0].after : null;
  const currentEnd = firstAt !== null ? Math.max(firstAt, now) : now + 1;
  if (currentEnd > now) segments.push({ state: current.state, from: now, to: currentEnd, planned: true });
  at = currentEnd;
  upcoming.forEach((step, index) => {
    const following = upcoming[index + 1];
    let end;
    if (following && following.after !== null && !nominal) end = at + following.after;
    else {
      end = at + 1;
      if (following) nominal = true;
    }
    segments.push({
      state: step.state,
      from: at,
      to: end,
      planned: true,
      label: following && following.after_reads !== null ? `then after ${following.after_reads} reads` : undefined,
    });
    at = end;
  });
  return segments;
}

// A scenario's steps from t=0, for the scenario list.
export function scenarioSegments(steps) {
  const segments = [];
  let at = 0;
  steps.forEach((step, index) => {
    const following = steps[index + 1];
    const width = following ? (following.after !== null ? following.after : 1) : Math.max(1, at * 0.2);
    segments.push({
      state: step.state,
      from: at,
      to: at + width,
      planned: false,
      label: following && following.after_reads !== null ? `${following.after_reads} reads` : undefined,
    });
    at += width;
  });
  return segments;
}

// Draw `segments` into an SVG; `now` (optional) draws the present as a line.
export function drawTimeline(segments, states, { width = 640, height = 64, now = null, origin = null, small = false, kinds = {} } = {}) {
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", class: "timeline" });
  if (!segments.length) return svg;
  const start = origin !== null ? origin : segments[0].from;
  const end = Math.max(...segments.map((s) => s.to), now !== null ? now : -Infinity);
  const span = Math.max(end - start, 0.001);
  const left = 4;
  const usable = width - 8;
  const x = (t) => left + ((t - start) / span) * usable;
  const barTop = small ? 4 : 6;
  const barHeight = small ? 20 : 26;
  const defs = el("defs");
  const pattern = el("pattern", { id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
  pattern.append(el("rect", { width: 6, height: 6, fill: "#ffffff", "fill-opacity": 0.55 }), el("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#ffffff", "stroke-width": 3 }));
  defs.append(pattern);
  svg.append(defs);
  for (const segment of segments) {
    const x0 = x(segment.from);
    const w = Math.max(2, x(segment.to) - x0);
    const fill = colour(states, segment.state, kinds);
    const kind = kinds[segment.state];
    const classes = `segment ${segment.planned ? "planned" : "past"}${kind ? ` terminal kind-${kind}` : ""}`;
    const group = el("g", { class: classes, "data-state": segment.state });
    const title = el("title", {}, `${segment.state}${segment.planned ? " (planned)" : ""}${segment.label ? ", " + segment.label : ""}`);
    group.append(title);
    group.append(el("rect", { x: x0, y: barTop, width: w, height: barHeight, fill, "fill-opacity": segment.planned ? 0.45 : 0.95, rx: 3 }));
    if (segment.planned) {
      group.append(el("rect", { x: x0, y: barTop, width: w, height: barHeight, fill: "url(#hatch)", rx: 3 }));
      group.append(el("rect", { x: x0 + 0.5, y: barTop + 0.5, width: w - 1, height: barHeight - 1, fill: "none", stroke: fill, "stroke-dasharray": "4 3", rx: 3 }));
    }
    if (fits(segment.state, w)) {
      group.append(el("text", { x: x0 + 4, y: barTop + barHeight / 2 + 4, class: "segment-label" }, segment.state));
    }
    svg.append(group);
  }
  if (!small) {
    const ticks = 5;
    for (let i = 0; i <= ticks; i++) {
      const t = start + (span * i) / ticks;
      const tx = x(t);
      svg.append(el("line", { x1: tx, y1: barTop + barHeight + 2, x2: tx, y2: barTop + barHeight + 6, stroke: "#888" }));
      svg.append(el("text", { x: Math.min(tx, width - 30), y: height - 4, class: "tick" }, `+${formatSpan(t - start)}`));
    }
  }
  if (now !== null) {
    const nx = x(now);
    svg.append(el("line", { x1: nx, y1: 0, x2: nx, y2: barTop + barHeight + 4, class: "now-line" }));
  }
  return svg;
}

export function formatSpan(seconds) {
  if (seconds < 10) return `${Math.round(seconds * 10) / 10}s`;
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}
