// Talking to the mock's admin API as its guard expects: same origin, JSON bodies with their
// Content-Type, and the admin token (from the page URL's fragment, #token=...) when one is set.

export function token() {
  return new URLSearchParams(location.hash.slice(1)).get("token");
}

// The namespace the page shows (/__mock/ui?namespace=NAME; the default one without): every call
// and stream asks for that namespace's resources, clock, scenarios and journal.
export function namespace() {
  return new URLSearchParams(location.search).get("namespace");
}

function scoped(path) {
  const name = namespace();
  return name ? `${path}${path.includes("?") ? "&" : "?"}namespace=${encodeURIComponent(name)}` : path;
}

function headers(extra = {}) {
  const found = token();
  return found ? { ...extra, "X-Mock-Admin-Token": found } : extra;
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

// A JSON call; state-changing ones always send a body with its Content-Type (the guard refuses
// anything else): JSON unless `contentType` says otherwise (then `body` is sent as it is).
export async function call(method, path, body, { contentType = "application/json" } = {}) {
  const init = { method, headers: headers({ Accept: "application/json" }), credentials: "same-origin" };
  if (method !== "GET") {
    init.headers["Content-Type"] = contentType;
    init.body = contentType === "application/json" ? JSON.stringify(body === undefined ? {} : body) : body;
  }
  const response = await fetch(scoped(path), init);
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { detail: text };
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

// Read an event stream (SSE framing) with fetch(), so the admin token can go in a header, which
// EventSource cannot send. Reconnects after a drop until `signal` aborts. `onState` hears
// "live", "connecting" or "refused" (a 401/403: the token is missing or wrong).
export function subscribe(path, onEvent, { signal, onState = () => {} } = {}) {
  let delay = 500;
  const run = async () => {
    while (!signal.aborted) {
      onState("connecting");
      try {
        const response = await fetch(scoped(path), {
          headers: headers({ Accept: "text/event-stream" }),
          credentials: "same-origin",
          signal,
        });
        if (response.status === 401 || response.status === 403) {
          onState("refused", response.status);
          await sleep(5000, signal);
          continue;
        }
        if (response.status === 404) {
          onState("gone");
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        onState("live");
        delay = 500;
        await readFrames(response.body, onEvent);
      } catch (error) {
        if (signal.aborted) return;
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 5000);
    }
  };
  run();
}

async function readFrames(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // a keep-alive comment
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = text;
        else if (field === "data") data.push(text);
      }
      if (!data.length) continue;
      try {
        onEvent(event, JSON.parse(data.join("\n")));
      } catch (error) {
        // a bug in the page, not a network problem: say so, and keep the stream
        console.error(`dashboard: handling a ${event} event failed:`, error);
      }
    }
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
