// Peacetime and emergency (平时 / 战时): each community's mode and since when, and the switch,
// which needs a reason and a confirmation; the answer says how many open requests changed
// urgency (the queue re-sorts when the switch's event arrives).
import { ApiError, api } from "./api.js";
import { clear, h } from "./dom.js";
import { label, t, when } from "./i18n.js";
import { changed, loadCommunities, loadRequests, store } from "./store.js";

export const listens = ["communities"];
let section = null;
const reasons = new Map(); // community id -> reason typed so far
let confirming = null; // the community whose switch awaits confirmation
let result = null;

// A rule as a line: the urgency it raises to, then its conditions (all must hold).
function ruleText(rule) {
  const parts = [
    rule.categories?.length ? `${t("mode.categories")}: ${rule.categories.join("、")}` : null,
    rule.resident_tags?.length ? `${t("mode.tags")}: ${rule.resident_tags.join(" + ")}` : null,
    rule.keywords?.length ? `${t("mode.keywords")}: ${rule.keywords.join("、")}` : null,
  ].filter(Boolean);
  return `${label("urgency", rule.urgency)} ← ${parts.join("; ")}`;
}

function target(community) {
  return community.mode === "emergency" ? "peacetime" : "emergency";
}

async function switchMode(community) {
  const mode = target(community);
  confirming = null;
  try {
    const answer = await api(`/v1/communities/${community.id}/mode`, {
      method: "POST",
      body: { mode, reason: reasons.get(community.id).trim() },
    });
    reasons.delete(community.id);
    const done = answer.communities[0];
    result = {
      kind: mode === "emergency" ? "warn" : "ok",
      title: `${community.name}: ${t(`mode.${done.mode}`)}`,
      lines: [`${t("mode.reprioritised")}: ${done.requests_reprioritised}`]
        .concat(done.mode === "emergency" ? done.rules.map((rule) => `${t("mode.rules")}: ${ruleText(rule)}`) : []),
    };
    await loadCommunities();
    await loadRequests();
    changed("communities");
    changed("requests");
  } catch (error) {
    const detail = error instanceof ApiError ? error.problem.detail || error.problem.title : String(error);
    result = { kind: "refused", title: t("detail.refused"), lines: [detail] };
    draw();
  }
}

function ask(community) {
  if (!(reasons.get(community.id) || "").trim()) {
    result = { kind: "refused", title: t("mode.need_reason"), lines: [] };
  } else {
    confirming = community.id;
    result = null;
  }
  draw();
}

function card(community) {
  const emergency = community.mode === "emergency";
  const next = target(community);
  const confirm = confirming === community.id
    ? h("div", { class: "confirm", role: "alertdialog" }, [
      h("strong", {}, `${t("mode.confirm_text")} ${community.name} → ${t(`mode.${next}`)}`),
      h("div", { class: "row" }, [
        h("button", { type: "button", class: "mode-confirm", onclick: () => switchMode(community) }, t("mode.confirm")),
        h("button", { type: "button", class: "secondary mode-cancel", onclick: () => { confirming = null; draw(); } }, t("common.cancel")),
      ]),
    ])
    : null;
  return h("div", { class: `card mode-card${emergency ? " emergency" : ""}`, dataset: { community: community.id } }, [
    h("div", { class: "bar" }, [
      h("h3", {}, community.name),
      h("span", { class: `badge mode-state m-${community.mode}` }, t(`mode.${community.mode}`)),
      h("span", { class: "hint" }, community.mode_since ? `${t("mode.since")} ${when(community.mode_since)}` : ""),
    ]),
    h("div", { class: "row" }, [
      h("input", {
        class: "mode-reason", placeholder: t("mode.reason"), maxlength: 500, size: 40,
        value: reasons.get(community.id) || "",
        oninput: (e) => reasons.set(community.id, e.target.value),
      }),
      h("button", { type: "button", class: `mode-switch${emergency ? " secondary" : ""}`, onclick: () => ask(community) },
        t(next === "emergency" ? "mode.to_emergency" : "mode.to_peacetime")),
    ]),
    confirm,
  ]);
}

function draw() {
  if (!section) return;
  clear(section).append(...[
    h("div", { class: "bar" }, [h("h2", {}, t("mode.title")), h("span", { class: "hint" }, t("mode.explain"))]),
    result
      ? h("div", { class: `outcome ${result.kind}`, id: "mode-result", role: "alert" }, [
        h("strong", {}, result.title),
        result.lines.length ? h("ul", {}, result.lines.map((line) => h("li", {}, line))) : null,
      ])
      : null,
    ...store.communities.map(card),
  ].filter(Boolean));
}

export function render(node) {
  section = node;
  draw();
}

// The red banner under the header while any of the dispatcher's communities is in emergency.
export function banner() {
  const node = document.getElementById("mode-banner");
  const inEmergency = store.communities.filter((c) => c.mode === "emergency");
  node.hidden = inEmergency.length === 0;
  clear(node).append(
    h("strong", {}, t("mode.banner")),
    ...inEmergency.map((c) => h("span", { class: "who" }, `${c.name} · ${t("mode.since")} ${when(c.mode_since)}`)),
  );
}
