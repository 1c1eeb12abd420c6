// What the console knows of the dispatcher's world, kept current by the event feed.
import { api, listAll } from "./api.js";

export const OPEN_STATES = ["submitted", "offered", "accepted", "in_progress", "declined"];
export const LIVE_ASSIGNMENT = ["offered", "accepted", "in_progress"];
export const URGENCY_RANK = { emergency: 0, urgent: 1, normal: 2 };

export const store = {
  communities: [],
  grids: [],
  streets: [],
  categories: new Map(),
  zones: [], // every zone of the dispatcher's communities, in force or not
  pickups: [], // active pickup points of the dispatcher's communities
  responders: new Map(),
  requests: new Map(),
  assignments: new Map(), // request id -> assignments
  load: new Map(), // responder id -> today's load
  loadDay: null,
  listeners: new Set(),
};

export function onChange(listener) {
  store.listeners.add(listener);
}

export function changed(what) {
  for (const listener of store.listeners) listener(what);
}

export async function loadWorld() {
  const [communities, grids, streets, categories] = await Promise.all([
    listAll("/v1/communities"),
    listAll("/v1/grids"),
    listAll("/v1/streets"),
    listAll("/v1/service-categories"),
  ]);
  store.communities = communities;
  store.grids = grids;
  store.streets = streets;
  store.categories = new Map(categories.map((c) => [c.code, c]));
  await Promise.all([loadResponders(), loadRequests(), loadLoad(), loadZones(), loadPickups()]);
}

// Reads of one list may overlap (an event arrives while a screen reloads it): only the read
// started last may store its answer, so an older, slower read never overwrites a newer one.
const reads = new Map();
function startRead(what) {
  const n = (reads.get(what) ?? 0) + 1;
  reads.set(what, n);
  return () => reads.get(what) === n;
}

// The communities again (their mode and since when), after a switch.
export async function loadCommunities() {
  const latest = startRead("communities");
  const communities = await listAll("/v1/communities");
  if (latest()) store.communities = communities;
}

export async function loadZones() {
  const latest = startRead("zones");
  const zones = [];
  for (const community of store.communities) {
    zones.push(...(await listAll("/v1/zones", { community_id: community.id })));
  }
  if (latest()) store.zones = zones;
}

// Retired points are left out: a plan still names them, but nobody collects there any more.
export async function loadPickups() {
  const latest = startRead("pickups");
  const pickups = [];
  for (const community of store.communities) {
    pickups.push(...(await listAll("/v1/pickup-points", { community_id: community.id, active: true })));
  }
  if (latest()) store.pickups = pickups;
}

export async function loadResponders() {
  const seen = new Map();
  for (const community of store.communities) {
    for (const r of await listAll("/v1/responders", { community_id: community.id })) seen.set(r.id, r);
  }
  store.responders = seen;
}

export async function loadRequests() {
  const latest = startRead("requests");
  const requests = new Map();
  const assignments = new Map();
  for (const community of store.communities) {
    for (const state of OPEN_STATES) {
      const items = await listAll("/v1/requests", { community_id: community.id, state });
      for (const r of items) requests.set(r.id, r);
    }
    for (const state of LIVE_ASSIGNMENT) {
      const items = await listAll("/v1/assignments", { community_id: community.id, state });
      for (const a of items) {
        if (!assignments.has(a.request_id)) assignments.set(a.request_id, []);
        assignments.get(a.request_id).push(a);
      }
    }
  }
  if (!latest()) return;
  store.requests = requests;
  store.assignments = assignments;
}

export async function loadLoad(day) {
  const answer = await api("/v1/indicators/responder-load", { params: { day } });
  store.loadDay = answer.day;
  store.load = new Map(answer.items.map((row) => [row.responder_id, row]));
}

// Re-read one request (and its live assignments) after an event named it.
export async function refreshRequest(id) {
  const request = await api(`/v1/requests/${id}`);
  if (OPEN_STATES.includes(request.state)) store.requests.set(id, request);
  else store.requests.delete(id);
  const all = await listAll("/v1/assignments", { request_id: id });
  store.assignments.set(id, all.filter((a) => LIVE_ASSIGNMENT.includes(a.state)));
}

export function gridName(id) {
  return store.grids.find((g) => g.id === id)?.name ?? "—";
}

// A zone's name; an id that names no zone the console knows is shown as it is.
export function zoneName(id) {
  if (!id) return "—";
  return store.zones.find((z) => z.id === id)?.name ?? id;
}

export function communityName(id) {
  return store.communities.find((c) => c.id === id)?.name ?? "—";
}

export function queueOrder(a, b) {
  const rank = (URGENCY_RANK[a.urgency] ?? 9) - (URGENCY_RANK[b.urgency] ?? 9);
  return rank || a.created_at.localeCompare(b.created_at);
}

// Metres between two [lon, lat] points (haversine).
export function metres(a, b) {
  const rad = Math.PI / 180;
  const dlat = (b[1] - a[1]) * rad;
  const dlon = (b[0] - a[0]) * rad;
  const x = Math.sin(dlat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dlon / 2) ** 2;
  return 2 * 6371000 * Math.asin(Math.sqrt(x));
}
