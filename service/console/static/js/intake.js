// Bulk intake: a grid leader's list (CSV or GeoJSON) sent as it is to the import endpoint,
// and what became of it: rows stored, rows already imported, rows refused with their field
// and reason.
import { ApiError, api } from "./api.js";
import { clear, h, select } from "./dom.js";
import { t } from "./i18n.js";
import { changed, loadRequests, store } from "./store.js";

export const listens = [];
let section = null;
let community = "";
let result = null; // {file, answer} or {file, error}
// The file last chosen, kept here: a redraw replaces the file input and would drop it.
let chosen = null;

// The content type the service expects, from the file's name (browsers often give none).
function contentType(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith(".csv")) return "text/csv";
  if (name.endsWith(".geojson") || name.endsWith(".json")) return "application/geo+json";
  return file.type || "application/octet-stream";
}

async function send() {
  const file = chosen ?? document.getElementById("import-file").files[0];
  if (!file) {
    result = { error: t("import.pick") };
    draw();
    return;
  }
  const button = document.getElementById("import-go");
  button.disabled = true;
  try {
    const answer = await api("/v1/requests/import", {
      method: "POST",
      params: { community_id: community || store.communities[0]?.id },
      body: file,
      contentType: contentType(file),
    });
    result = { file: file.name, answer };
    await loadRequests();
    changed("requests");
  } catch (error) {
    const detail = error instanceof ApiError
      ? [error.problem.detail || error.problem.title, ...(error.problem.errors || []).map((e) => `${e.field}: ${e.message}`)]
        .filter(Boolean).join(" — ")
      : String(error);
    result = { file: file.name, error: detail };
  }
  draw();
}

function figure(id, name, value) {
  return h("div", { class: "figure", id }, [h("span", { class: "value" }, String(value)), h("span", { class: "name" }, name)]);
}

function outcome() {
  if (!result) return null;
  if (result.error) {
    return h("div", { class: "outcome refused", id: "import-error", role: "alert" }, [
      h("strong", {}, t("detail.refused")), h("p", {}, result.error)]);
  }
  const { answer } = result;
  const stored = answer.stored_ids.map((id) => store.requests.get(id)).filter(Boolean);
  return h("div", { id: "import-result" }, [
    h("p", { class: "hint" }, `${result.file} · ${t("import.note")}`),
    h("div", { class: "figures" }, [
      figure("import-stored", t("import.stored"), answer.stored),
      figure("import-unchanged", t("import.unchanged"), answer.unchanged),
      figure("import-rejected-count", t("import.rejected"), answer.rejected.length),
    ]),
    h("h3", {}, t("import.rejected")),
    h("table", { class: "grid", id: "import-rejected" }, [
      h("thead", {}, h("tr", {}, ["col.row", "col.field", "col.reason"].map((k) => h("th", {}, t(k))))),
      h("tbody", {}, answer.rejected.length
        ? answer.rejected.map((r) => h("tr", { dataset: { row: r.row } }, [
          h("td", {}, String(r.row)), h("td", {}, r.field), h("td", {}, r.reason)]))
        : h("tr", { class: "empty" }, h("td", { colspan: 3 }, t("import.none_rejected")))),
    ]),
    stored.length ? h("h3", {}, t("import.stored")) : null,
    stored.length
      ? h("ul", { id: "import-stored-list" }, stored.map((r) =>
        h("li", { dataset: { id: r.id } }, `${r.external_id || r.id} · ${r.category_code}`)))
      : null,
  ]);
}

function draw() {
  if (!section) return;
  const communities = store.communities.map((c) => [c.id, c.name]);
  clear(section).append(...[
    h("div", { class: "bar" }, [h("h2", {}, t("import.title"))]),
    h("div", { class: "card" }, [
      h("div", { class: "filters" }, [
        communities.length > 1
          ? h("label", {}, [t("common.community"), select({ id: "import-community", onchange: (e) => (community = e.target.value) },
            communities, community || communities[0][0])])
          : null,
        h("label", {}, [t("import.file"), h("input", {
          type: "file",
          id: "import-file",
          accept: ".csv,.geojson,.json,text/csv,application/geo+json",
          onchange: (e) => { chosen = e.target.files[0] ?? null; },
        })]),
        h("button", { type: "button", id: "import-go", onclick: send }, t("import.go")),
      ]),
      h("p", { class: "hint" }, t("import.columns")),
    ]),
    outcome(),
  ].filter(Boolean));
}

export function render(node) {
  section = node;
  draw();
}
