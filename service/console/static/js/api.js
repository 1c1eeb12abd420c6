// The service's API as the console uses it: the dispatcher key on every call, problem
// details turned into errors, pages followed, and server-sent events read with fetch()
// (EventSource cannot send the X-API-Key header the service requires).
const KEY = "wushe.console.key";
const PAGE = 200;

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

export function key() {
  return sessionStorage.getItem(KEY);
}

export function setKey(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

function query(params) {
  const entries = Object.entries(params || {}).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return entries.length ? "?" + new URLSearchParams(entries).toString() : "";
}

// A body is sent as JSON, unless a content type is given with it (a file sent as it is).
export async function api(path, { method = "GET", body, params, signal, contentType } = {}) {
  const headers = { "X-API-Key": key() || "" };
  if (body !== undefined) headers["Content-Type"] = contentType || "application/json";
  const response = await fetch(path + query(params), {
    method,
    headers,
    body: body === undefined || contentType ? body : JSON.stringify(body),
    signal,
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Save a file the API serves (a plan export) under `filename`: fetched with the key, since a
// plain link cannot send the X-API-Key header, then handed to the browser as a download.
export async function download(path, filename) {
  const response = await fetch(path, { headers: { "X-API-Key": key() || "" } });
  if (!response.ok) {
    const text = await response.text();
    throw new ApiError(response.status, text ? JSON.parse(text) : null);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// Every item of a paged list.
export async function listAll(path, params = {}) {
  const items = [];
  let cursor;
  do {
    const page = await api(path, { params: { ...params, limit: PAGE, cursor } });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

// Read a text/event-stream body, calling onFrame({event, id, data}) per frame.
async function readFrames(response, onFrame) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const frame = { event: "message", id: null, data: "" };
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const at = line.indexOf(":");
        const field = at < 0 ? line : line.slice(0, at);
        const val = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
        if (field === "data") frame.data += (frame.data ? "\n" : "") + val;
        else if (field === "event") frame.event = val;
        else if (field === "id") frame.id = val;
      }
      if (frame.data || frame.id) onFrame(frame);
    }
  }
}

// One stream request until the server closes it; returns normally at its end.
export async function openStream(path, { params, lastEventId, signal, onFrame }) {
  const headers = { "X-API-Key": key() || "", Accept: "text/event-stream" };
  if (lastEventId) headers["Last-Event-ID"] = lastEventId;
  const response = await fetch(path + query(params), { headers, signal });
  if (!response.ok) {
    const text = await response.text();
    throw new ApiError(response.status, text ? JSON.parse(text) : null);
  }
  await readFrames(response, onFrame);
}

// Follow the caller's event feed from a cursor, reconnecting (with the last id) when the
// server ends a stream; onStatus(true|false) says whether the feed is connected.
export function followEvents({ after, onEvent, onStatus, signal }) {
  let cursor = after;
  (async () => {
    while (!signal.aborted) {
      try {
        onStatus(true);
        await openStream("/v1/events/stream", {
          params: { max_seconds: 300 },
          lastEventId: cursor,
          signal,
          onFrame(frame) {
            if (frame.id) cursor = frame.id;
            if (frame.data) onEvent(JSON.parse(frame.data));
          },
        });
      } catch (error) {
        if (signal.aborted) return;
        onStatus(false);
        await new Promise((resolve) => setTimeout(resolve, 3000));
      }
    }
  })();
}

// The cursor at the end of the caller's feed now, so following starts with what is new.
export async function feedEnd() {
  let after;
  for (;;) {
    const page = await api("/v1/events", { params: { after, limit: PAGE } });
    after = page.next_cursor || after;
    if (!page.more) return after;
  }
}
