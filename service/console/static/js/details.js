// The side panel: a request's or a responder's details, and manual dispatch by hand.
import { ApiError, api } from "./api.js";
import { clear, h, select } from "./dom.js";
import { label, t, when } from "./i18n.js";
import { categoryName } from "./queue.js";
import { changed, communityName, gridName, loadLoad, metres, refreshRequest, store, zoneName } from "./store.js";

function panel() {
  const node = document.getElementById("details");
  node.hidden = false;
  return clear(node);
}

export function closeDetails() {
  document.getElementById("details").hidden = true;
}

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "—")]));
}

export function loadText(responder) {
  const load = store.load.get(responder.id);
  if (!load) return "—";
  const tasks = responder.kind === "organization" ? load.slots_per_day : load.max_tasks_per_day;
  return `${load.tasks}/${tasks ?? "∞"} · ${load.minutes}/${load.max_minutes_per_day ?? "∞"}′`;
}

function problemText(error) {
  if (!(error instanceof ApiError)) return t("error.generic");
  const fields = (error.problem.errors || []).map((e) => `${e.field}: ${e.message}`);
  return [error.problem.detail || error.problem.title, ...fields].filter(Boolean).join(" — ");
}

function outcome(kind, title, lines) {
  return h("div", { class: `outcome ${kind}`, id: "assign-outcome", role: "alert" }, [
    h("strong", {}, title),
    lines.length ? h("ul", {}, lines.map((line) => h("li", {}, line))) : null,
  ]);
}

function assignForm(request) {
  const here = request.location.coordinates;
  const candidates = [...store.responders.values()]
    .filter((r) => r.active && r.community_ids.includes(request.community_id))
    .map((r) => ({ r, d: metres(here, r.location.coordinates) }))
    .sort((a, b) => a.d - b.d);
  const chooser = select(
    { id: "assign-responder" },
    candidates.map(({ r, d }) => [r.id, `${r.name} · ${label("kind", r.kind)} · ${(d / 1000).toFixed(1)} km · ${loadText(r)}`]),
  );
  const result = h("div", { class: "result" });
  const reason = h("input", { id: "unassign-reason", placeholder: t("detail.reason") });
  async function assign() {
    clear(result);
    try {
      const answer = await api(`/v1/requests/${request.id}/assign`, {
        method: "POST",
        body: { responder_ids: [chooser.value] },
      });
      result.append(outcome(answer.warnings.length ? "warn" : "ok",
        answer.warnings.length ? `${t("detail.done")} · ${t("detail.warnings")}` : t("detail.done"),
        answer.warnings));
      await after(request.id);
    } catch (error) {
      result.append(outcome("refused", t("detail.refused"), [problemText(error)]));
    }
  }
  async function unassign() {
    clear(result);
    try {
      await api(`/v1/requests/${request.id}/unassign`, {
        method: "POST",
        body: { reason: reason.value.trim() || "console" },
      });
      result.append(outcome("ok", t("detail.unassigned"), []));
      await after(request.id);
    } catch (error) {
      result.append(outcome("refused", t("detail.refused"), [problemText(error)]));
    }
  }
  return h("div", { class: "assign" }, [
    h("h3", {}, t("detail.assign")),
    h("label", {}, [t("detail.choose"), chooser]),
    h("button", { type: "button", id: "assign-go", onclick: assign }, t("detail.assign.go")),
    h("div", { class: "row" }, [reason, h("button", { type: "button", id: "unassign-go", onclick: unassign }, t("detail.unassign"))]),
    result,
  ]);
}

async function after(requestId) {
  await refreshRequest(requestId);
  await loadLoad(store.loadDay);
  changed("requests");
  const current = store.requests.get(requestId);
  const list = document.getElementById("current-responders");
  if (list && current !== undefined) list.replaceWith(currentList(requestId));
}

function currentList(requestId) {
  const live = store.assignments.get(requestId) || [];
  return h("ul", { id: "current-responders" }, live.length ? live.map((a) =>
    h("li", {}, `${store.responders.get(a.responder_id)?.name ?? a.responder_id} · ${label("state", a.state)}`))
    : h("li", {}, t("common.none")));
}

export async function openRequest(id) {
  const request = store.requests.get(id) || (await api(`/v1/requests/${id}`));
  const node = panel();
  node.dataset.requestId = id;
  node.append(
    h("div", { class: "bar" }, [h("h2", {}, t("detail.request")),
      h("button", { type: "button", class: "close", onclick: closeDetails }, t("common.close"))]),
    facts([
      [t("col.category"), categoryName(request.category_code)],
      [t("col.urgency"), label("urgency", request.urgency)],
      [t("col.state"), label("state", request.state)],
      [t("col.grid"), gridName(request.grid_id)],
      [t("col.zone"), request.zone_id ? zoneName(request.zone_id) : null],
      [t("col.window"), `${when(request.window_start)} – ${when(request.window_end, { date: false })}`],
      [t("detail.duration"), request.duration_min],
      [t("detail.quantity"), request.quantity],
      [t("detail.cost"), (request.cost_fen / 100).toFixed(2)],
      ["ID", request.id],
    ]),
    h("h3", {}, t("detail.current")),
    currentList(id),
    assignForm(request),
  );
}

export function openResponder(id) {
  const r = store.responders.get(id);
  if (!r) return;
  panel().append(
    h("div", { class: "bar" }, [h("h2", {}, t("detail.responder")),
      h("button", { type: "button", class: "close", onclick: closeDetails }, t("common.close"))]),
    facts([
      [t("col.name"), r.name],
      [t("col.kind"), label("kind", r.kind)],
      [t("col.qualifications"), r.qualifications.join("、") || "—"],
      [t("col.groups"), (r.volunteer_groups || []).join("、") || "—"],
      [t("detail.load"), loadText(r)],
      [t("col.active"), r.active ? "✓" : "✗"],
    ]),
  );
}

export function openGrid(grid) {
  panel().append(
    h("div", { class: "bar" }, [h("h2", {}, t("detail.grid")),
      h("button", { type: "button", class: "close", onclick: closeDetails }, t("common.close"))]),
    facts([[t("col.name"), grid.name], ["code", grid.code]]),
  );
}

export function zonePeriod(zone) {
  return `${when(zone.valid_from)} – ${zone.valid_until ? when(zone.valid_until) : t("zones.open_ended")}`;
}

export function openZone(zone) {
  const inside = [...store.requests.values()].filter((r) => r.zone_id === zone.id).length;
  const node = panel();
  node.dataset.zoneId = zone.id;
  node.append(
    h("div", { class: "bar" }, [h("h2", {}, t("detail.zone")),
      h("button", { type: "button", class: "close", onclick: closeDetails }, t("common.close"))]),
    facts([
      [t("zones.name"), zone.name],
      [t("zones.status"), h("span", { class: `badge z-${zone.status}`, id: "zone-detail-status" }, label("zone", zone.status))],
      [t("zones.period"), zonePeriod(zone)],
      [t("zones.force"), zone.in_force ? t("zones.in_force") : t("zones.not_in_force")],
      [t("common.community"), communityName(zone.community_id)],
      [t("zones.requests"), inside],
      ["ID", zone.id],
    ]),
  );
}
