// Lockdown zones: the list with status and period, a new zone drawn corner by corner on the
// map (the ring closes on its first corner), a status changed in place, a zone lifted; each
// change shows how many open requests and residents the service re-tagged.
import { ApiError, api } from "./api.js";
import { openZone, zonePeriod } from "./details.js";
import { clear, h, select } from "./dom.js";
import { label, t } from "./i18n.js";
import { MapView, ZONE_STATUSES } from "./map.js";
import { changed, communityName, loadRequests, loadZones, store } from "./store.js";

export const listens = ["zones", "requests"];
let section = null;
let mapView = null;
// What the form holds survives a redraw (events redraw the view while one is typing).
const form = { name: "", status: "controlled", community: "", from: "", until: "" };
let drawing = false;
let result = null; // {kind, title, lines} of the last change
let lifting = null; // the zone whose lift awaits confirmation

function problemLines(error) {
  if (!(error instanceof ApiError)) return [String(error)];
  const fields = (error.problem.errors || []).map((e) => `${e.field}: ${e.message}`);
  return [error.problem.detail || error.problem.title, ...fields].filter(Boolean);
}

function retagLines(retagged) {
  return [`${t("zones.retag.requests")}: ${retagged.requests}`, `${t("zones.retag.residents")}: ${retagged.residents}`];
}

// A datetime-local value as an instant in the service's zone (Asia/Shanghai, no summer
// time), the zone every time on the console is shown in; empty is undefined.
function instant(value) {
  if (!value) return undefined;
  return `${value.length === 16 ? `${value}:00` : value}+08:00`;
}

// The outcome is shown only with the zones and requests it changed: a redraw in between (an
// event arriving) would show it beside the old counts.
async function afterChange(kind, title, retagged) {
  await loadZones();
  await loadRequests();
  result = { kind, title, lines: retagLines(retagged) };
  changed("zones");
  changed("requests");
}

async function save() {
  const draft = mapView.draft;
  if (!form.name.trim() || !draft?.closed || draft.points.length < 3) {
    result = { kind: "refused", title: t("zones.incomplete"), lines: [] };
    draw();
    return;
  }
  const ring = [...draft.points, draft.points[0]];
  try {
    const answer = await api("/v1/zones", {
      method: "POST",
      body: {
        community_id: form.community || store.communities[0]?.id,
        name: form.name.trim(),
        status: form.status,
        geometry: { type: "Polygon", coordinates: [ring] },
        valid_from: instant(form.from),
        valid_until: instant(form.until),
      },
    });
    drawing = false;
    mapView.stopDrawing();
    Object.assign(form, { name: "", from: "", until: "" });
    await afterChange("ok", `${t("zones.saved")}: ${answer.zone.name}`, answer.retagged);
  } catch (error) {
    result = { kind: "refused", title: t("detail.refused"), lines: problemLines(error) };
    draw();
  }
}

async function setStatus(zone, status) {
  try {
    const answer = await api(`/v1/zones/${zone.id}`, { method: "PATCH", body: { status } });
    await afterChange("ok", `${t("zones.changed")}: ${answer.zone.name} · ${label("zone", status)}`, answer.retagged);
  } catch (error) {
    result = { kind: "refused", title: t("detail.refused"), lines: problemLines(error) };
    draw();
  }
}

async function lift(zone) {
  lifting = null;
  try {
    const retagged = await api(`/v1/zones/${zone.id}`, { method: "DELETE" });
    await afterChange("ok", `${t("zones.lifted")}: ${zone.name}`, retagged);
  } catch (error) {
    result = { kind: "refused", title: t("detail.refused"), lines: problemLines(error) };
    draw();
  }
}

function zoneRow(zone) {
  const inside = [...store.requests.values()].filter((r) => r.zone_id === zone.id).length;
  const status = select({ class: "zone-status", onchange: (e) => setStatus(zone, e.target.value) },
    ZONE_STATUSES.map((s) => [s, label("zone", s)]), zone.status);
  const liftCell = lifting === zone.id
    ? [h("button", { type: "button", class: "zone-lift-confirm", onclick: () => lift(zone) }, t("zones.confirm_lift")),
      h("button", { type: "button", class: "secondary", onclick: () => { lifting = null; draw(); } }, t("common.cancel"))]
    : h("button", { type: "button", class: "zone-lift secondary", onclick: () => { lifting = zone.id; draw(); } }, t("zones.lift"));
  return h("tr", { dataset: { id: zone.id }, class: zone.in_force ? "" : "muted" }, [
    h("td", {}, h("a", { href: "#zones", onclick: (e) => { e.preventDefault(); openZone(zone); } }, zone.name)),
    h("td", {}, status),
    h("td", {}, zonePeriod(zone)),
    h("td", { class: "force" }, zone.in_force ? t("zones.in_force") : t("zones.not_in_force")),
    h("td", {}, communityName(zone.community_id)),
    h("td", { class: "inside" }, String(inside)),
    h("td", {}, liftCell),
  ]);
}

function drawForm() {
  const draft = mapView.draft;
  const input = (name, attrs) => h("input", { ...attrs, value: form[name], oninput: (e) => (form[name] = e.target.value) });
  const communities = store.communities.map((c) => [c.id, c.name]);
  const controls = drawing
    ? [
      h("span", { class: "hint", id: "zone-corners" },
        `${t("zones.corners")}: ${draft?.points.length ?? 0}${draft?.closed ? ` · ${t("zones.closed")}` : ""}`),
      h("button", { type: "button", class: "secondary", id: "zone-undo", onclick: () => mapView.undoPoint() }, t("zones.undo")),
      h("button", { type: "button", class: "secondary", id: "zone-cancel", onclick: () => { drawing = false; mapView.stopDrawing(); draw(); } }, t("common.cancel")),
      h("button", { type: "button", id: "zone-save", disabled: !draft?.closed, onclick: save }, t("zones.save")),
    ]
    : [h("button", { type: "button", id: "zone-draw", onclick: () => {
      drawing = true;
      result = null;
      mapView.startDrawing(() => refreshControls());
      draw();
    } }, t("zones.draw"))];
  return h("div", { class: "card", id: "zone-form" }, [
    h("h3", {}, t("zones.new")),
    h("div", { class: "filters" }, [
      h("label", {}, [t("zones.name"), input("name", { id: "zone-name", maxlength: 100 })]),
      h("label", {}, [t("zones.status"), select({ id: "zone-new-status", onchange: (e) => (form.status = e.target.value) },
        ZONE_STATUSES.map((s) => [s, label("zone", s)]), form.status)]),
      communities.length > 1
        ? h("label", {}, [t("common.community"), select({ id: "zone-community", onchange: (e) => (form.community = e.target.value) },
          communities, form.community || communities[0][0])])
        : null,
      h("label", {}, [t("zones.from"), input("from", { id: "zone-from", type: "datetime-local" })]),
      h("label", {}, [t("zones.until"), input("until", { id: "zone-until", type: "datetime-local" })]),
    ]),
    h("p", { class: "hint" }, drawing ? t("zones.draw_hint") : t("zones.draw_intro")),
    h("div", { class: "row", id: "zone-controls" }, controls),
  ]);
}

function refreshControls() {
  const old = document.getElementById("zone-form");
  if (old) old.replaceWith(drawForm());
}

function outcome() {
  if (!result) return null;
  return h("div", { class: `outcome ${result.kind}`, id: "zone-result", role: "alert" }, [
    h("strong", {}, result.title),
    result.lines.length ? h("ul", {}, result.lines.map((line) => h("li", {}, line))) : null,
  ]);
}

function draw() {
  if (!section) return;
  if (!mapView) mapView = new MapView(null, { id: "zone-map" });
  const holder = h("div", { class: "map-holder small" });
  const zones = [...store.zones].sort((a, b) => a.name.localeCompare(b.name));
  clear(section).append(...[
    h("div", { class: "bar" }, [h("h2", {}, t("zones.title")), h("span", { class: "count" }, `${zones.length}`)]),
    outcome(),
    h("table", { class: "grid", id: "zones-table" }, [
      h("thead", {}, h("tr", {}, ["zones.name", "zones.status", "zones.period", "zones.force", "common.community", "zones.requests", ""]
        .map((k) => h("th", {}, k ? t(k) : "")))),
      h("tbody", {}, zones.length ? zones.map(zoneRow) : h("tr", {}, h("td", { colspan: 7 }, t("zones.none")))),
    ]),
    drawForm(),
    holder,
  ].filter(Boolean));
  mapView.container = holder;
  mapView.mount();
}

export function render(node) {
  section = node;
  draw();
}
