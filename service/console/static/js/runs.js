// Batch runs: start a preview over a scope (an assignment run, or a routes run that plans
// deliveries as routes through pickup points), watch its progress, review the plan on the map
// and as tables (each unassigned request with its reason and remedy; a routes plan's stops per
// responder), then commit or discard.
import { ApiError, api, download, listAll, openStream } from "./api.js";
import { toast } from "./app.js";
import { clear, h, s, select } from "./dom.js";
import { label, t, when } from "./i18n.js";
import { MapView, ROUTE_COLOURS } from "./map.js";
import { categoryName } from "./queue.js";
import { changed, gridName, loadLoad, loadPickups, loadRequests, store, zoneName } from "./store.js";

export const listens = ["runs"];
const OPEN_RUN_STATES = ["queued", "running", "succeeded"];
// A discarded preview stays in the service (there is nothing to delete); this tab hides it.
const DISCARDED = "wushe.console.discarded";
const RUN_KINDS = ["assign", "routes"];
const state = { kind: "assign", scopeType: "community", scopeId: "", limit: 5, run: null, plan: null, commit: null, error: "" };
let section = null;
let stream = null;
let planMap = null;
let pendingRuns = [];

// Runs still waiting for a decision: queued, running, or previews not yet committed.
async function loadPending() {
  const lists = await Promise.all(OPEN_RUN_STATES.map((st) => listAll("/v1/dispatch-runs", { state: st })));
  const discarded = new Set(JSON.parse(sessionStorage.getItem(DISCARDED) || "[]"));
  pendingRuns = lists.flat().filter((run) => run.mode === "preview" && !discarded.has(run.id)).sort((a, b) => b.created_at.localeCompare(a.created_at));
  draw();
}

async function openRun(run) {
  state.run = run;
  state.plan = state.commit = null;
  state.error = "";
  draw();
  await follow(run.id);
}

function scopeName(run) {
  const found = store.communities.find((c) => c.id === run.scope_id)
    || store.grids.find((g) => g.id === run.scope_id)
    || store.streets.find((st) => st.id === run.scope_id);
  return found?.name ?? run.scope_id.slice(0, 8);
}

function pendingList() {
  if (!pendingRuns.length) return null;
  return h("div", { class: "card" }, [
    h("h3", {}, t("runs.recent")),
    h("ul", { id: "pending-runs" }, pendingRuns.slice(0, 10).map((run) => h("li", {}, [
      `${when(run.created_at)} · ${label("runkind", run.kind)} · ${scopeName(run)} · ${label("state", run.state)} `,
      h("button", { type: "button", class: "secondary", onclick: () => openRun(run) }, t("runs.open")),
    ]))),
  ]);
}

function scopeOptions() {
  if (state.scopeType === "grid") return store.grids.map((g) => [g.id, g.name]);
  if (state.scopeType === "street") {
    const ids = new Set(store.communities.map((c) => c.street_id));
    return store.streets.filter((st) => ids.has(st.id)).map((st) => [st.id, st.name]);
  }
  return store.communities.map((c) => [c.id, c.name]);
}

function requestText(id) {
  const q = store.requests.get(id);
  if (!q) return id.slice(0, 8);
  return `${label("urgency", q.urgency)} · ${categoryName(q.category_code)} · ${gridName(q.grid_id)}`;
}

function names(ids) {
  return ids.map((id) => store.responders.get(id)?.name ?? id.slice(0, 8)).join("、");
}

async function follow(runId) {
  stream?.abort();
  stream = new AbortController();
  try {
    await openStream(`/v1/dispatch-runs/${runId}/stream`, {
      params: { max_seconds: 300 },
      signal: stream.signal,
      onFrame(frame) {
        const run = JSON.parse(frame.data);
        // A frame sent before a commit must not undo the commit's newer state.
        if (state.run?.id === run.id && state.run.state === "committed") return;
        state.run = run;
        draw();
      },
    });
  } catch (error) {
    if (stream.signal.aborted) return;
    state.error = error.message;
  }
  if (state.run?.has_plan && !state.plan) {
    state.plan = await api(`/v1/dispatch-runs/${runId}/plan`);
  }
  draw();
}

async function startRun() {
  state.run = state.plan = state.commit = null;
  state.error = "";
  try {
    state.run = await api("/v1/dispatch-runs", {
      method: "POST",
      body: { scope: { type: state.scopeType, id: state.scopeId }, kind: state.kind, mode: "preview", time_limit_s: Number(state.limit) },
    });
  } catch (error) {
    state.error = error.message;
    draw();
    return;
  }
  draw();
  follow(state.run.id);
}

async function commit() {
  stream?.abort(); // the run is over; its stream has nothing newer to say
  try {
    const result = await api(`/v1/dispatch-runs/${state.run.id}/commit`, { method: "POST" });
    // The run's new state first: a redraw between the two calls (another panel's update)
    // must not show the commit's result beside the run's old state.
    state.run = await api(`/v1/dispatch-runs/${state.run.id}`);
    state.commit = result;
    toast(`${t("runs.committed")} ${state.commit.offered}`);
    await loadRequests();
    await loadLoad(store.loadDay);
    changed("requests");
    if (state.plan?.routes) {
      // A routes commit took its boxes from the pickup points' stock.
      await loadPickups();
      changed("pickups");
    }
  } catch (error) {
    state.error = error instanceof ApiError ? error.message : String(error);
  }
  draw();
}

async function discard() {
  if (state.run && ["queued", "running"].includes(state.run.state)) {
    stream?.abort();
    await api(`/v1/dispatch-runs/${state.run.id}`, { method: "DELETE" });
  }
  const discarded = JSON.parse(sessionStorage.getItem(DISCARDED) || "[]");
  sessionStorage.setItem(DISCARDED, JSON.stringify([...discarded, state.run.id]));
  state.run = state.plan = state.commit = null;
  toast(t("runs.discarded"));
  loadPending();
  draw();
}

function round(value) {
  return value === null || value === undefined ? "—" : Math.round(value).toLocaleString();
}

function progress(run) {
  const p = run.progress || {};
  const done = p.parts_total ? Math.round((100 * (p.parts_done || 0)) / p.parts_total) : run.has_plan ? 100 : 0;
  return h("div", { class: "card", id: "run-progress" }, [
    h("div", { class: "bar" }, [
      h("strong", {}, `${t("runs.progress")}: `),
      h("span", { id: "run-state", class: `run-${run.state}` }, label("state", run.state)),
      h("span", {}, `${t("runs.phase")}: ${run.phase}`),
    ]),
    h("progress", { max: 100, value: done }),
    h("dl", { class: "facts inline" }, [
      h("dt", {}, t("runs.considered")), h("dd", {}, p.requests_considered ?? "—"),
      h("dt", {}, t("runs.objective")), h("dd", {}, round(p.best_objective)),
      h("dt", {}, t("runs.bound")), h("dd", {}, round(p.bound)),
    ]),
    run.error ? h("p", { class: "error" }, run.error) : null,
  ]);
}

function planTables(plan) {
  return [
    h("h3", {}, `${t("runs.assigned")} (${plan.assignments.length})`),
    h("table", { class: "grid", id: "plan-assigned" }, [
      h("thead", {}, h("tr", {}, ["request", "responders", "start", "travel"].map((c) => h("th", {}, t(`col.${c}`))))),
      h("tbody", {}, plan.assignments.map((a) => h("tr", { dataset: { request: a.request_id } }, [
        h("td", {}, requestText(a.request_id)),
        h("td", {}, names(a.responder_ids)),
        h("td", {}, when(a.start)),
        h("td", {}, a.travel_minutes.join(" / ")),
      ]))),
    ]),
    h("h3", {}, `${t("runs.unassigned")} (${plan.unassigned.length})`),
    h("table", { class: "grid", id: "plan-unassigned" }, [
      h("thead", {}, h("tr", {}, ["request", "reason", "message", "remedy"].map((c) => h("th", {}, t(`col.${c}`))))),
      h("tbody", {}, plan.unassigned.map((u) => h("tr", { dataset: { request: u.request_id } }, [
        h("td", {}, requestText(u.request_id)),
        h("td", {}, u.reason),
        h("td", {}, u.message),
        h("td", {}, u.remedy),
      ]))),
    ]),
  ];
}

// Where a stop is: a pickup point by name, a zone's gate, or the door of the requests dropped there.
function stopPlace(stop) {
  if (stop.kind === "pickup") {
    return store.pickups.find((point) => point.id === stop.place_id)?.name ?? stop.place_id.slice(0, 8);
  }
  if (stop.kind === "gate_drop" || stop.kind === "gate_pickup") return `${zoneName(stop.place_id)} · ${t("map.gate")}`;
  return `${t("stop.door")}: ${stop.request_ids.map(requestText).join("；")}`;
}

function itemsText(items) {
  return Object.entries(items).map(([code, boxes]) => `${categoryName(code)} × ${boxes}`).join("、");
}

// A routes plan: per responder, its stops in order, coloured like its line on the map.
function routesList(routes) {
  return [
    h("h3", {}, `${t("runs.routes")} (${routes.length})`),
    h("div", { class: "routes-list", id: "plan-routes" }, routes.map((route, n) => h("div", {
      class: "card route-card", dataset: { responder: route.responder_id },
    }, [
      h("h4", {}, [
        s("svg", { viewBox: "0 0 20 10", width: 20, height: 10 },
          s("line", { x1: 0, y1: 5, x2: 20, y2: 5, stroke: ROUTE_COLOURS[n % ROUTE_COLOURS.length], "stroke-width": 4 })),
        names([route.responder_id]),
      ]),
      h("div", { class: "hint" }, `${when(route.start)} – ${when(route.end, { date: false })} · ${(route.distance_m / 1000).toFixed(1)} km · ${route.duration_min} ${t("runs.minutes")}`),
      h("ol", {}, route.stops.map((stop) => h("li", { dataset: { kind: stop.kind } }, [
        h("span", { class: "stop-kind" }, label("stop", stop.kind)),
        ` · ${stopPlace(stop)} · ${when(stop.arrival, { date: false })} · ${itemsText(stop.items)}`,
      ]))),
    ]))),
  ];
}

// The plan's exports: a spreadsheet, a map file and the printable route sheets.
function exportsBar(runId) {
  const save = (tail, filename) => () => download(`/v1/dispatch-runs/${runId}/${tail}`, filename).catch((error) => {
    state.error = error.message;
    draw();
  });
  const files = [
    ["export-csv", "plan.csv", `plan-${runId}.csv`, "CSV"],
    ["export-geojson", "plan.geojson", `plan-${runId}.geojson`, "GeoJSON"],
    ["export-sheets", "route-sheets", `route-sheets-${runId}.html`, t("runs.sheets")],
  ];
  return h("div", { class: "row", id: "plan-exports" }, [
    h("span", {}, `${t("runs.exports")}:`),
    ...files.map(([id, tail, filename, text]) => h("button", { type: "button", class: "secondary", id, onclick: save(tail, filename) }, text)),
  ]);
}

function commitResult(result) {
  return h("div", { class: "card ok", id: "commit-result" }, [
    h("strong", {}, `${t("runs.committed")} ${result.offered}`),
    result.changes.length ? h("h4", {}, t("runs.changes")) : null,
    h("ul", {}, result.changes.map((c) => h("li", {}, `${requestText(c.request_id)}: ${c.what} — ${c.why}`))),
  ]);
}

function draw() {
  if (!section || section.hidden) return;
  const form = h("form", { class: "filters", id: "run-form", onsubmit: (e) => { e.preventDefault(); startRun(); } }, [
    h("label", {}, [t("runs.kind"), select({ id: "run-kind", onchange: (e) => (state.kind = e.target.value) },
      RUN_KINDS.map((kind) => [kind, label("runkind", kind)]), state.kind)]),
    h("label", {}, [t("common.scope"), select({ id: "run-scope-type", onchange: (e) => {
      state.scopeType = e.target.value;
      state.scopeId = scopeOptions()[0]?.[0] ?? "";
      draw();
    } }, [["community", t("common.community")], ["grid", t("common.grid")], ["street", t("common.street")]], state.scopeType)]),
    h("label", {}, ["", select({ id: "run-scope-id", onchange: (e) => (state.scopeId = e.target.value) }, scopeOptions(), state.scopeId)]),
    h("label", {}, [t("runs.limit"), h("input", { id: "run-limit", type: "number", min: 1, max: 300, value: state.limit,
      onchange: (e) => (state.limit = e.target.value) })]),
    h("button", { type: "submit", id: "run-start" }, t("runs.start")),
  ]);
  const parts = [h("div", { class: "bar" }, h("h2", {}, t("runs.title"))), form];
  if (!state.run) parts.push(pendingList());
  if (state.error) parts.push(h("p", { class: "error", role: "alert" }, state.error));
  if (state.run) parts.push(progress(state.run));
  const holder = h("div", { class: "map-holder small" });
  if (state.plan) {
    parts.push(h("h3", {}, t("runs.plan")), exportsBar(state.run.id), holder);
    if (state.plan.routes) parts.push(...routesList(state.plan.routes));
    parts.push(...planTables(state.plan));
    if (!state.commit && state.run.state === "succeeded") {
      parts.push(h("div", { class: "row" }, [
        h("button", { type: "button", id: "run-commit", onclick: commit }, t("runs.commit")),
        h("button", { type: "button", id: "run-discard", class: "secondary", onclick: discard }, t("runs.discard")),
      ]));
    }
  } else if (state.run && ["queued", "running"].includes(state.run.state)) {
    parts.push(h("button", { type: "button", id: "run-discard", class: "secondary", onclick: discard }, t("runs.discard")));
  }
  if (state.commit) parts.push(commitResult(state.commit));
  clear(section).append(...parts.filter(Boolean));
  if (state.plan) {
    if (!planMap) planMap = new MapView(holder, { id: "plan-map" });
    planMap.container = holder;
    planMap.plan = state.plan;
    planMap.mount();
  }
}

export function render(node) {
  section = node;
  if (!state.scopeId) state.scopeId = scopeOptions()[0]?.[0] ?? "";
  draw();
  loadPending();
}
