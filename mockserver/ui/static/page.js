// What every part of the page shares: its state, element helpers, the mock's clock as the page
// knows it, notices, and admin calls that report their failure.

import { call } from "./api.js";

export const $ = (selector) => document.querySelector(selector);

export const state = {
  apis: {}, // name -> {states, stream}
  resources: new Map(), // "api/id" -> {row, tr}
  clock: { mode: "real", speed: 1, now: 0, at: performance.now() },
  scenarios: {},
  journal: [],
  selected: null, // {api, id, controller, data}
};

export function h(tag, attrs = {}, ...children) {
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

export function isoTime(epoch) {
  if (typeof epoch === "string") return epoch;
  return new Date(epoch * 1000).toISOString().replace("T", " ").replace("Z", "");
}

export function shortTime(value) {
  // the time of day, to the millisecond; epoch seconds or ISO text (the journal's times) alike
  const text = isoTime(value);
  const time = text.split(/[ T]/)[1];
  return time ? time.replace("Z", "").slice(0, 12) : text;
}

export function notify(message, kind = "error") {
  const box = $("#notice");
  box.textContent = message;
  box.className = kind;
  box.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => (box.hidden = true), 6000);
}

export async function act(method, path, body, done) {
  try {
    const result = await call(method, path, body);
    if (done) done(result);
    return result;
  } catch (error) {
    notify(error.message);
    return null;
  }
}
