// The linkage index (联动指数) for a period and scope, with inline-SVG charts.
import { api } from "./api.js";
import { bars, days } from "./charts.js";
import { clear, h, select } from "./dom.js";
import { t } from "./i18n.js";
import { categoryName } from "./queue.js";
import { store } from "./store.js";

export const listens = [];
const DAY = 86400000;
const state = { scope: "", from: null, to: null, data: null, error: "" };
let section = null;

function isoDay(date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 10);
}

function scopes() {
  return [["", t("common.all")]]
    .concat(store.communities.map((c) => [`community:${c.id}`, `${t("common.community")} · ${c.name}`]))
    .concat(store.grids.map((g) => [`grid:${g.id}`, `${t("common.grid")} · ${g.name}`]));
}

async function load() {
  const [scopeType, scopeId] = state.scope ? state.scope.split(":") : [];
  // The period is whole local days, the last one included.
  const from = new Date(`${state.from}T00:00:00`);
  const to = new Date(new Date(`${state.to}T00:00:00`).getTime() + DAY);
  try {
    state.data = await api("/v1/indicators", {
      params: { scope_type: scopeType, scope_id: scopeId, from: from.toISOString(), to: to.toISOString() },
    });
    state.error = "";
  } catch (error) {
    state.data = null;
    state.error = error.message;
  }
  draw();
}

function figure(id, title, value) {
  return h("div", { class: "figure", id }, [h("span", { class: "value" }, value ?? "—"), h("span", { class: "name" }, title)]);
}

function yuan(fen) {
  return (fen / 100).toFixed(2);
}

function draw() {
  const d = state.data;
  const form = h("form", { class: "filters", id: "ind-form", onsubmit: (e) => { e.preventDefault(); load(); } }, [
    h("label", {}, [t("common.scope"), select({ id: "ind-scope", onchange: (e) => (state.scope = e.target.value) }, scopes(), state.scope)]),
    h("label", {}, [t("common.from"), h("input", { type: "date", id: "ind-from", value: state.from, onchange: (e) => (state.from = e.target.value) })]),
    h("label", {}, [t("common.to"), h("input", { type: "date", id: "ind-to", value: state.to, onchange: (e) => (state.to = e.target.value) })]),
    h("button", { type: "submit", id: "ind-show" }, t("ind.show")),
  ]);
  const parts = [h("div", { class: "bar" }, h("h2", {}, t("ind.title"))), form];
  if (state.error) parts.push(h("p", { class: "error", role: "alert" }, state.error));
  if (!d) parts.push(h("p", {}, state.error ? "" : t("common.loading")));
  else {
    parts.push(
      h("div", { class: "figures" }, [
        figure("fig-total", t("ind.total"), d.requests_total),
        figure("fig-share", t("ind.share"), d.share_met === null ? "—" : `${(100 * d.share_met).toFixed(1)}%`),
        figure("fig-offer", t("ind.offer"), d.median_minutes_to_offer),
        figure("fig-completion", t("ind.completion"), d.median_minutes_to_completion),
        figure("fig-hours", t("ind.hours"), d.volunteer_hours),
        figure("fig-volunteers", t("ind.volunteers"), d.volunteers_active),
        figure("fig-funds", t("ind.funds"), yuan(d.fund_spent_fen)),
      ]),
      h("div", { class: "charts" }, [
        h("div", { class: "card" }, [h("h3", {}, t("ind.by_category")),
          bars(d.by_category, { id: "chart-category", name: (r) => categoryName(r.key) })]),
        h("div", { class: "card" }, [h("h3", {}, t("ind.by_grid")),
          bars(d.by_grid, { id: "chart-grid", name: (r) => r.name || "—" })]),
        h("div", { class: "card" }, [h("h3", {}, `${t("ind.by_day")} (${t("ind.created")} / ${t("ind.met")})`),
          days(d.by_day, { id: "chart-day" })]),
        h("div", { class: "card" }, [h("h3", {}, t("ind.by_fund")),
          bars(d.fund_spending, { id: "chart-fund", total: "spent_fen", part: null, name: (r) => r.name, value: (r) => yuan(r.spent_fen) })]),
      ]),
    );
  }
  clear(section).append(...parts);
}

export function render(node) {
  section = node;
  if (!state.from) {
    const now = new Date();
    state.to = isoDay(now);
    state.from = isoDay(new Date(now.getTime() - 29 * DAY));
    load();
  }
  draw();
}
