// Responders: kind, qualifications, the day's load against caps, and availability to edit
// (active at all, and available on the chosen day through a shift exception).
import { api } from "./api.js";
import { toast } from "./app.js";
import { openResponder } from "./details.js";
import { clear, h } from "./dom.js";
import { label, t } from "./i18n.js";
import { changed, loadLoad, store } from "./store.js";

export const listens = ["responders", "requests"];
let section = null;

function availableOn(responder, day) {
  const exception = (responder.shift_exceptions || []).find((e) => e.date === day);
  return exception ? exception.available : true;
}

async function patch(responder, body) {
  const updated = await api(`/v1/responders/${responder.id}`, { method: "PATCH", body });
  store.responders.set(updated.id, updated);
  toast(`${updated.name}: ${t("resp.saved")}`);
  changed("responders");
}

function setAvailable(responder, day, available) {
  const others = (responder.shift_exceptions || []).filter((e) => e.date !== day);
  const shift_exceptions = available ? others : [...others, { date: day, available: false }];
  return patch(responder, { shift_exceptions });
}

function cap(used, limit) {
  return `${used} / ${limit ?? "∞"}`;
}

function draw() {
  const day = store.loadDay;
  const rows = [...store.responders.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  clear(section).append(
    h("div", { class: "bar" }, [
      h("h2", {}, t("resp.title")),
      h("label", {}, [t("common.day"), h("input", { type: "date", id: "load-day", value: day, onchange: async (e) => {
        await loadLoad(e.target.value);
        draw();
      } })]),
    ]),
    h("table", { class: "grid", id: "responders-table" }, [
      h("thead", {}, h("tr", {}, ["name", "kind", "qualifications", "groups", "tasks", "minutes", "slots", "active", "available"]
        .map((c) => h("th", {}, t(`col.${c}`))))),
      h("tbody", {}, rows.map((r) => {
        const load = store.load.get(r.id) || { tasks: 0, minutes: 0 };
        const full = (r.max_tasks_per_day && load.tasks >= r.max_tasks_per_day) || (r.slots_per_day && load.tasks >= r.slots_per_day);
        return h("tr", { dataset: { id: r.id }, class: full ? "full" : "" }, [
          h("td", {}, h("a", { href: "#responders", onclick: (e) => { e.preventDefault(); openResponder(r.id); } }, r.name)),
          h("td", {}, label("kind", r.kind)),
          h("td", {}, r.qualifications.join("、") || "—"),
          h("td", {}, (r.volunteer_groups || []).join("、") || "—"),
          h("td", {}, r.kind === "organization" ? "—" : cap(load.tasks, r.max_tasks_per_day)),
          h("td", {}, cap(load.minutes, r.max_minutes_per_day)),
          h("td", {}, r.kind === "organization" ? cap(load.tasks, r.slots_per_day) : "—"),
          h("td", {}, h("input", { type: "checkbox", class: "active-toggle", checked: r.active,
            onchange: (e) => patch(r, { active: e.target.checked }) })),
          h("td", {}, h("input", { type: "checkbox", class: "available-toggle", checked: availableOn(r, day),
            onchange: (e) => setAvailable(r, day, e.target.checked) })),
        ]);
      })),
    ]),
  );
}

export function render(node) {
  section = node;
  draw();
}
