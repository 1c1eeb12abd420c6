// The queue: open requests, filtered, most urgent and oldest first, live from the feed.
import { openRequest } from "./details.js";
import { clear, h, select } from "./dom.js";
import { label, language, t, when } from "./i18n.js";
import { OPEN_STATES, gridName, queueOrder, store, zoneName } from "./store.js";

export const listens = ["requests", "responders", "zones"];
const filters = { category: "", urgency: "", state: "", grid: "", zone: "" };

export function categoryName(code) {
  const category = store.categories.get(code);
  if (!category) return code;
  return language() === "en" ? category.name_en || category.name_zh : category.name_zh;
}

function age(created) {
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(created)) / 60000));
  if (minutes < 60) return `${minutes}′`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)}h${minutes % 60}′`;
  return `${Math.floor(minutes / 1440)}d`;
}


export function visibleRequests() {
  return [...store.requests.values()]
    .filter((r) => !filters.category || r.category_code === filters.category)
    .filter((r) => !filters.urgency || r.urgency === filters.urgency)
    .filter((r) => !filters.state || r.state === filters.state)
    .filter((r) => !filters.grid || r.grid_id === filters.grid)
    .filter((r) => !filters.zone || (r.zone_id || "") === filters.zone)
    .sort(queueOrder);
}

function responderNames(requestId) {
  const live = store.assignments.get(requestId) || [];
  return live.map((a) => store.responders.get(a.responder_id)?.name ?? "?").join("、");
}

function filterBar(section) {
  const all = [["", t("common.all")]];
  const change = (name) => (e) => {
    filters[name] = e.target.value;
    render(section);
  };
  // The zones by name; a request may name a zone the list does not hold (read as sealed).
  const named = [...store.zones].sort((a, b) => a.name.localeCompare(b.name)).map((z) => [z.id, z.name]);
  const known = new Set(named.map(([id]) => id));
  const stray = [...new Set([...store.requests.values()].map((r) => r.zone_id).filter((z) => z && !known.has(z)))];
  const zones = named.concat(stray.sort().map((z) => [z, z]));
  return h("div", { class: "filters" }, [
    h("label", {}, [t("col.category"), select({ id: "f-category", onchange: change("category") },
      all.concat([...store.categories.keys()].map((c) => [c, categoryName(c)])), filters.category)]),
    h("label", {}, [t("col.urgency"), select({ id: "f-urgency", onchange: change("urgency") },
      all.concat(["emergency", "urgent", "normal"].map((u) => [u, label("urgency", u)])), filters.urgency)]),
    h("label", {}, [t("col.state"), select({ id: "f-state", onchange: change("state") },
      all.concat(OPEN_STATES.map((s) => [s, label("state", s)])), filters.state)]),
    h("label", {}, [t("col.grid"), select({ id: "f-grid", onchange: change("grid") },
      all.concat(store.grids.map((g) => [g.id, g.name])), filters.grid)]),
    h("label", {}, [t("col.zone"), select({ id: "f-zone", onchange: change("zone") },
      all.concat(zones), filters.zone)]),
  ]);
}

export function render(section) {
  const rows = visibleRequests();
  clear(section).append(
    h("div", { class: "bar" }, [
      h("h2", {}, t("queue.title")),
      h("span", { class: "count", id: "queue-count" }, `${rows.length} ${t("queue.count")}`),
    ]),
    filterBar(section),
    h("table", { class: "grid", id: "queue-table" }, [
      h("thead", {}, h("tr", {}, ["urgency", "category", "grid", "zone", "state", "responders", "window", "age"]
        .map((c) => h("th", {}, t(`col.${c}`))))),
      h("tbody", {}, rows.map((r) =>
        h("tr", { class: `u-${r.urgency}`, dataset: { id: r.id }, onclick: () => openRequest(r.id) }, [
          h("td", {}, h("span", { class: `badge u-${r.urgency}` }, label("urgency", r.urgency))),
          h("td", {}, categoryName(r.category_code)),
          h("td", {}, gridName(r.grid_id)),
          h("td", { class: "zone" }, zoneName(r.zone_id)),
          h("td", { class: "state" }, label("state", r.state)),
          h("td", {}, responderNames(r.id) || "—"),
          h("td", {}, `${when(r.window_start)}–${when(r.window_end, { date: false })}`),
          h("td", {}, age(r.created_at)),
        ]))),
    ]),
  );
}
