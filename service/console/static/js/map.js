// The map, drawn on SVG from the API's GeoJSON: outlines of communities and grids (or, where
// a place has no outline, a dashed ring round its centre and a frame round its community's
// points), lockdown zones filled by status (a sealed zone's gate marked), pickup points,
// requests, responders by kind and load, and lines for offers or a plan (a routes plan as
// each responder's route from its base through its stops). No tiles: nothing leaves the
// service. Drag pans, the wheel zooms, a click shows details; in drawing mode clicks place
// the corners of a new zone instead.
import { openGrid, openRequest, openResponder, openZone } from "./details.js";
import { clear, h, s } from "./dom.js";
import { label, t, when } from "./i18n.js";
import { categoryName } from "./queue.js";
import { store } from "./store.js";

export const listens = ["requests", "responders", "zones", "pickups"];
const KIND_SHAPE = { volunteer: "circle", social_worker: "diamond", organization: "square", community_staff: "triangle" };
const URGENCY_COLOUR = { emergency: "#c62828", urgent: "#ef6c00", normal: "#1565c0" };
// One colour per route, in the order the plan lists them (repeating past the last).
export const ROUTE_COLOURS = ["#6a1b9a", "#00838f", "#d84315", "#2e7d32", "#283593", "#ad1457", "#5d4037"];
export const ZONE_STATUSES = ["sealed", "controlled", "precaution"];
const CLOSE_PIXELS = 12; // a click this near the first corner closes the ring
let mainView = null;

function projection(points) {
  const lons = points.map((p) => p[0]);
  const lats = points.map((p) => p[1]);
  const lon0 = (Math.min(...lons) + Math.max(...lons)) / 2 || 0;
  const lat0 = (Math.min(...lats) + Math.max(...lats)) / 2 || 0;
  const kx = 111320 * Math.cos((lat0 * Math.PI) / 180);
  const project = ([lon, lat]) => [(lon - lon0) * kx, -(lat - lat0) * 110540];
  project.invert = ([x, y]) => [lon0 + x / kx, lat0 - y / 110540];
  return project;
}

function bbox(xy, pad) {
  const xs = xy.map((p) => p[0]);
  const ys = xy.map((p) => p[1]);
  return [Math.min(...xs) - pad, Math.min(...ys) - pad, Math.max(...xs) + pad, Math.max(...ys) + pad];
}

function loadColour(responder) {
  const load = store.load.get(responder.id);
  const cap = responder.kind === "organization" ? load?.slots_per_day : load?.max_tasks_per_day;
  if (!load || !cap) return "#2e7d32";
  const share = load.tasks / cap;
  return share >= 1 ? "#c62828" : share >= 0.5 ? "#f9a825" : "#2e7d32";
}

function marker(shape, [x, y], r, attrs) {
  if (shape === "circle") return s("circle", { cx: x, cy: y, r, ...attrs });
  if (shape === "square") return s("rect", { x: x - r, y: y - r, width: 2 * r, height: 2 * r, ...attrs });
  if (shape === "cross") {
    // A pharmacy's plus: arms 1.3 r long, 0.45 r wide.
    const [a, b] = [1.3 * r, 0.45 * r];
    const corners = [[-b, -a], [b, -a], [b, -b], [a, -b], [a, b], [b, b], [b, a], [-b, a], [-b, b], [-a, b], [-a, -b], [-b, -b]];
    return s("polygon", { points: corners.map(([dx, dy]) => `${x + dx},${y + dy}`).join(" "), ...attrs });
  }
  if (shape === "gate") {
    // An arch: two posts and a lintel, drawn as a stroke.
    return s("path", { d: `M${x - r},${y + r}V${y - r}H${x + r}V${y + r}`, ...attrs });
  }
  const points = shape === "diamond"
    ? [[x, y - r * 1.3], [x + r * 1.3, y], [x, y + r * 1.3], [x - r * 1.3, y]]
    : [[x, y - r * 1.3], [x + r * 1.2, y + r], [x - r * 1.2, y + r]];
  return s("polygon", { points: points.map((p) => p.join(",")).join(" "), ...attrs });
}

// What a pickup point's tooltip says: its name, opening hours and boxes in stock.
export function pickupText(point) {
  const stock = Object.entries(point.stock).map(([code, boxes]) => `${categoryName(code)} ${boxes}`);
  return `${point.name} · ${t("pickup.hours")} ${point.opens_at}–${point.closes_at} · ${t("pickup.stock")}: ${stock.join("、") || t("common.none")}`;
}

function ring(polygon, project) {
  return polygon.coordinates[0].map((c) => project(c).join(",")).join(" ");
}

// The polygons of a GeoJSON Polygon or MultiPolygon, each a list of rings (outer, holes).
function polygonsOf(geometry) {
  if (geometry?.type === "Polygon") return [geometry.coordinates];
  if (geometry?.type === "MultiPolygon") return geometry.coordinates;
  return [];
}

// An SVG path for a zone: every ring closed, holes cut out by the even-odd rule.
function zonePath(geometry, project) {
  return polygonsOf(geometry)
    .flatMap((rings) => rings.map((r) => "M" + r.map((c) => project(c).join(",")).join("L") + "Z"))
    .join(" ");
}

function zonePoints(geometry) {
  return polygonsOf(geometry).flatMap((rings) => rings[0] || []);
}

// Strictest first, so a sealed zone is drawn above a precaution zone it overlaps.
function zoneOrder(a, b) {
  return ZONE_STATUSES.indexOf(b.status) - ZONE_STATUSES.indexOf(a.status);
}

export class MapView {
  constructor(container, { plan = null, id = "map-svg" } = {}) {
    this.container = container;
    this.plan = plan;
    this.id = id;
    this.view = null;
    this.draft = null; // {points: [[lon, lat]...], closed, onChange} while drawing a zone
  }

  // Start placing the corners of a new zone; onChange(draft) after every click.
  startDrawing(onChange) {
    this.draft = { points: [], closed: false, onChange };
    this.svg?.classList.add("drawing");
    this.draw();
  }

  stopDrawing() {
    this.draft = null;
    this.svg?.classList.remove("drawing");
    if (this.svg) this.draw();
  }

  undoPoint() {
    if (!this.draft) return;
    if (this.draft.closed) this.draft.closed = false;
    else this.draft.points.pop();
    this.draw();
    this.draft.onChange(this.draft);
  }

  placePoint(e) {
    const draft = this.draft;
    if (!draft || draft.closed) return;
    const matrix = this.svg.getScreenCTM().inverse();
    const at = new DOMPoint(e.clientX, e.clientY).matrixTransform(matrix);
    if (draft.points.length >= 3) {
      const first = this.project(draft.points[0]);
      const screen = new DOMPoint(first[0], first[1]).matrixTransform(this.svg.getScreenCTM());
      if (Math.hypot(screen.x - e.clientX, screen.y - e.clientY) <= CLOSE_PIXELS) {
        draft.closed = true;
      }
    }
    if (!draft.closed) draft.points.push(this.project.invert([at.x, at.y]));
    this.draw();
    draft.onChange(draft);
  }

  points() {
    const points = [];
    for (const c of store.communities) points.push(c.centre.coordinates);
    for (const g of store.grids) points.push(g.centre.coordinates);
    for (const r of store.requests.values()) points.push(r.location.coordinates);
    for (const r of store.responders.values()) points.push(r.location.coordinates);
    for (const z of store.zones) points.push(...zonePoints(z.geometry));
    for (const point of store.pickups) points.push(point.location.coordinates);
    return points.length ? points : [[0, 0]];
  }

  mount() {
    const points = this.points();
    if (!this.view) {
      // Fixed at the first drawing, so new points (a zone drawn far out) never shift the view.
      this.project = projection(points);
      const [x0, y0, x1, y1] = bbox(points.map(this.project), 300);
      this.view = [x0, y0, Math.max(x1 - x0, 600), Math.max(y1 - y0, 400)];
      this.home = [...this.view];
    }
    this.svg = s("svg", { id: this.id, class: `map${this.draft ? " drawing" : ""}`, role: "img", "aria-label": t("map.title") });
    this.attach();
    clear(this.container).append(this.svg);
    this.draw();
  }

  attach() {
    let drag = null;
    this.svg.addEventListener("pointerdown", (e) => {
      drag = { x: e.clientX, y: e.clientY, view: [...this.view], moved: false };
    });
    this.svg.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const scale = this.view[2] / this.svg.clientWidth;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (!drag.moved) return;
      this.view[0] = drag.view[0] - dx * scale;
      this.view[1] = drag.view[1] - dy * scale;
      this.svg.setAttribute("viewBox", this.view.join(" "));
    });
    this.svg.addEventListener("pointerup", () => {
      this.suppressClick = drag?.moved;
      drag = null;
    });
    this.svg.addEventListener("click", (e) => {
      if (this.draft && !this.suppressClick) this.placePoint(e);
    });
    this.svg.addEventListener("wheel", (e) => {
      e.preventDefault();
      const box = this.svg.getBoundingClientRect();
      const fx = (e.clientX - box.left) / box.width;
      const fy = (e.clientY - box.top) / box.height;
      const factor = e.deltaY > 0 ? 1.2 : 1 / 1.2;
      const [x, y, w, hgt] = this.view;
      this.view = [x + fx * w * (1 - factor), y + fy * hgt * (1 - factor), w * factor, hgt * factor];
      this.draw();
    }, { passive: false });
  }

  zoom(factor) {
    const [x, y, w, hgt] = this.view;
    this.view = [x + (w * (1 - factor)) / 2, y + (hgt * (1 - factor)) / 2, w * factor, hgt * factor];
    this.draw();
  }

  reset() {
    this.view = [...this.home];
    this.draw();
  }

  clickable(node, action) {
    node.addEventListener("click", (e) => {
      if (this.draft) return; // while drawing, a click places a corner wherever it lands
      e.stopPropagation();
      if (!this.suppressClick) action();
    });
    node.classList.add("hit");
    return node;
  }

  draw() {
    const svg = clear(this.svg);
    svg.setAttribute("viewBox", this.view.join(" "));
    const r = this.view[2] / 120;
    const p = this.project;
    const places = s("g", { class: "places" });
    for (const community of store.communities) {
      if (community.outline) {
        places.append(s("polygon", { class: "community", points: ring(community.outline, p) }));
      } else {
        const own = [community.centre.coordinates];
        for (const g of store.grids) if (g.community_id === community.id) own.push(g.centre.coordinates);
        for (const q of store.requests.values()) if (q.community_id === community.id) own.push(q.location.coordinates);
        for (const point of store.pickups) if (point.community_id === community.id) own.push(point.location.coordinates);
        const [x0, y0, x1, y1] = bbox(own.map(p), 250);
        places.append(s("rect", { class: "community frame", x: x0, y: y0, width: x1 - x0, height: y1 - y0 }));
      }
      // The name sits above the community's outline (or frame), clear of its grids.
      const top = community.outline ? bbox(community.outline.coordinates[0].map(p), 0) : null;
      const [cx] = p(community.centre.coordinates);
      const labelY = top ? top[1] - r : places.lastChild.getAttribute("y") - r;
      places.append(s("text", { class: "label community-label", x: cx, y: labelY, "font-size": 1.8 * r }, community.name));
    }
    for (const grid of store.grids) {
      const shape = grid.outline
        ? s("polygon", { class: "grid-outline", points: ring(grid.outline, p) })
        : s("circle", { class: "grid-outline centre-only", cx: p(grid.centre.coordinates)[0], cy: p(grid.centre.coordinates)[1], r: 8 * r });
      places.append(this.clickable(shape, () => openGrid(grid)));
      const [gx, gy] = p(grid.centre.coordinates);
      places.append(s("text", { class: "label", x: gx, y: gy + 10 * r, "font-size": 1.5 * r }, grid.name));
    }
    const zones = s("g", { class: "zones" });
    for (const zone of [...store.zones].sort(zoneOrder)) {
      const shape = s("path", {
        class: `zone z-${zone.status}${zone.in_force ? "" : " not-in-force"}`,
        d: zonePath(zone.geometry, p),
        "fill-rule": "evenodd",
        dataset: { id: zone.id },
      });
      shape.append(s("title", {}, `${zone.name} · ${label("zone", zone.status)}`));
      zones.append(this.clickable(shape, () => openZone(zone)));
      const corners = zonePoints(zone.geometry).map(p);
      if (corners.length) {
        const [x0, y0] = bbox(corners, 0);
        zones.append(s("text", { class: `label zone-label z-${zone.status}`, x: x0, y: y0 - r / 2, "font-size": 1.3 * r }, zone.name));
      }
      // Only a sealed zone's gate changes a plan (deliveries hand over there), so only it is drawn.
      if (zone.status === "sealed" && zone.gate) {
        const gate = marker("gate", p(zone.gate.coordinates), r, { class: "gate", dataset: { zone: zone.id } });
        gate.append(s("title", {}, `${zone.name} · ${t("map.gate")}`));
        zones.append(this.clickable(gate, () => openZone(zone)));
      }
    }
    const lines = s("g", { class: "lines" });
    for (const [requestId, live] of store.assignments) {
      const q = store.requests.get(requestId);
      if (!q) continue;
      for (const a of live) {
        const who = store.responders.get(a.responder_id);
        if (!who) continue;
        const [x1, y1] = p(q.location.coordinates);
        const [x2, y2] = p(who.location.coordinates);
        lines.append(s("line", { class: `assignment a-${a.state}`, x1, y1, x2, y2 }));
      }
    }
    // A routes plan is drawn as its routes; its assignments would only repeat them as spokes.
    const routes = this.plan?.routes;
    for (const planned of routes ? [] : this.plan?.assignments || []) {
      const q = store.requests.get(planned.request_id);
      if (!q) continue;
      for (const id of planned.responder_ids) {
        const who = store.responders.get(id);
        if (!who) continue;
        const [x1, y1] = p(q.location.coordinates);
        const [x2, y2] = p(who.location.coordinates);
        lines.append(s("line", { class: "plan", x1, y1, x2, y2, dataset: { request: q.id } }));
      }
    }
    const pickups = s("g", { class: "pickups" });
    for (const point of store.pickups) {
      const node = marker("cross", p(point.location.coordinates), r, { class: "pickup", dataset: { id: point.id } });
      node.append(s("title", {}, pickupText(point)));
      pickups.append(node);
    }
    const responders = s("g", { class: "responders" });
    for (const who of store.responders.values()) {
      const node = marker(KIND_SHAPE[who.kind] || "circle", p(who.location.coordinates), r, {
        class: `responder k-${who.kind}${who.active ? "" : " inactive"}`,
        fill: loadColour(who),
        dataset: { id: who.id },
      });
      node.append(s("title", {}, `${who.name} · ${label("kind", who.kind)}`));
      responders.append(this.clickable(node, () => openResponder(who.id)));
    }
    const unplaced = new Set((this.plan?.unassigned || []).map((u) => u.request_id));
    const requests = s("g", { class: "requests" });
    for (const q of store.requests.values()) {
      const [x, y] = p(q.location.coordinates);
      const node = s("circle", {
        class: `request s-${q.state}${unplaced.has(q.id) ? " unplaced" : ""}`,
        cx: x, cy: y, r: 0.9 * r,
        fill: URGENCY_COLOUR[q.urgency] || "#555",
        dataset: { id: q.id },
      });
      node.append(s("title", {}, `${label("urgency", q.urgency)} · ${label("state", q.state)}`));
      requests.append(this.clickable(node, () => openRequest(q.id)));
    }
    // Pickup points lie under the zones: a zone over one stays clickable, and its fill still
    // shows the point through it.
    svg.append(places, pickups, zones, lines, this.drawRoutes(routes || [], r), responders, requests);
    if (this.draft) svg.append(this.drawDraft(r));
  }

  // Each route from its responder's base through its stops in order, stops numbered.
  drawRoutes(routes, r) {
    const p = this.project;
    const group = s("g", { class: "routes" });
    routes.forEach((route, n) => {
      const colour = ROUTE_COLOURS[n % ROUTE_COLOURS.length];
      const base = store.responders.get(route.responder_id)?.location.coordinates;
      const path = [...(base ? [base] : []), ...route.stops.map((stop) => [stop.lon, stop.lat])].map(p);
      const line = s("polyline", { class: "route", stroke: colour, points: path.map((c) => c.join(",")).join(" "), dataset: { responder: route.responder_id } });
      line.append(s("title", {}, store.responders.get(route.responder_id)?.name ?? route.responder_id));
      group.append(line);
      route.stops.forEach((stop, k) => {
        const [x, y] = p([stop.lon, stop.lat]);
        const node = s("circle", { class: `route-stop st-${stop.kind}`, cx: x, cy: y, r: 0.6 * r, stroke: colour });
        node.append(s("title", {}, `${k + 1}. ${label("stop", stop.kind)} · ${when(stop.arrival, { date: false })}`));
        group.append(node);
        group.append(s("text", { class: "route-number", x: x + r, y: y - r / 2, fill: colour, "font-size": 1.1 * r }, String(k + 1)));
      });
    });
    return group;
  }

  drawDraft(r) {
    const xy = this.draft.points.map(this.project);
    const group = s("g", { class: "draft" });
    if (xy.length) {
      const points = xy.map((c) => c.join(",")).join(" ");
      group.append(this.draft.closed
        ? s("polygon", { class: "draft-ring closed", points })
        : s("polyline", { class: "draft-ring", points }));
    }
    xy.forEach(([x, y], n) => group.append(
      s("circle", { class: `corner${n === 0 ? " first" : ""}`, cx: x, cy: y, r: n === 0 ? 1.2 * r : 0.7 * r })));
    return group;
  }
}

function legend() {
  const item = (shape, text, attrs = {}) => h("li", {}, [
    s("svg", { viewBox: "-10 -10 20 20", width: 16, height: 16 }, marker(shape, [0, 0], 6, attrs)), text]);
  return h("ul", { class: "legend" }, [
    item("circle", label("urgency", "emergency"), { fill: URGENCY_COLOUR.emergency }),
    item("circle", label("urgency", "urgent"), { fill: URGENCY_COLOUR.urgent }),
    item("circle", label("urgency", "normal"), { fill: URGENCY_COLOUR.normal }),
    ...Object.entries(KIND_SHAPE).map(([kind, shape]) => item(shape, label("kind", kind), { fill: "#2e7d32" })),
    ...ZONE_STATUSES.map((status) => item("square", label("zone", status), { class: `zone z-${status}` })),
    item("cross", t("map.pickup"), { class: "pickup" }),
    item("gate", t("map.gate"), { class: "gate" }),
    h("li", { class: "swatches" }, [
      h("span", { class: "sw low" }), "<50%", h("span", { class: "sw mid" }), "≥50%", h("span", { class: "sw full" }), "100%"]),
  ]);
}

export function render(section) {
  if (!mainView) mainView = new MapView(null, { id: "map-svg" });
  const holder = h("div", { class: "map-holder" });
  clear(section).append(
    h("div", { class: "bar" }, [
      h("h2", {}, t("map.title")),
      h("span", { class: "hint" }, t("map.hint")),
      h("button", { type: "button", onclick: () => mainView.zoom(1 / 1.5) }, "+"),
      h("button", { type: "button", onclick: () => mainView.zoom(1.5) }, "−"),
      h("button", { type: "button", id: "map-reset", onclick: () => mainView.reset() }, t("map.reset")),
    ]),
    h("div", { class: "map-layout" }, [holder, legend()]),
  );
  mainView.container = holder;
  mainView.mount();
}
