// Peacetime and emergency (平时 / 战时): each community's mode and since when, and the switch
// (per community, or for a whole street), which needs a reason and a confirmation; the answer
// says how many open requests changed urgency (the queue re-sorts when the switch's event
// arrives).
import { ApiError, api } from "./api.js";
import { clear, h } from "./dom.js";
import { label, t, when } from "./i18n.js";
import { changed, communityName, loadCommunities, loadRequests, store } from "./store.js";

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

// What can be switched: a community, or a street with several of the dispatcher's
// communities (switched together by /v1/streets/{id}/mode).
function subjects() {
  const out = store.communities.map((c) => ({
    key: c.id, kind: "community", name: c.name, path: `/v1/communities/${c.id}/mode`,
    mode: c.mode, since: c.mode_since, dataset: { community: c.id },
  }));
  const byStreet = new Map();
  for (const c of store.communities) byStreet.set(c.street_id, [...(byStreet.get(c.street_id) || []), c]);
  for (const [streetId, members] of byStreet) {
    if (members.length < 2) continue;
    const street = store.streets.find((x) => x.id === streetId);
    const all = members.every((c) => c.mode === "emergency");
    out.push({
      key: `street:${streetId}`, kind: "street", name: street?.name ?? streetId,
      path: `/v1/streets/${streetId}/mode`, mode: all ? "emergency" : "peacetime", since: null,
      members, dataset: { street: streetId },
    });
  }
  return out;
}

// A street goes to emergency unless every one of its communities already is.
function target(subject) {
  return subject.mode === "emergency" ? "peacetime" : "emergency";
}

async function switchMode(subject) {
  const mode = target(subject);
  confirming = null;
  try {
    const answer = await api(subject.path, {
      method: "POST",
      body: { mode, reason: reasons.get(subject.key).trim() },
    });
    reasons.delete(subject.key);
    const lines = answer.communities.map((done) =>
      `${communityName(done.community_id)} · ${t(`mode.${done.mode}`)} · ${t("mode.reprioritised")}: ${done.requests_reprioritised}`);
    const first = answer.communities[0];
    if (first && mode === "emergency") lines.push(...first.rules.map((rule) => `${t("mode.rules")}: ${ruleText(rule)}`));
    result = { kind: mode === "emergency" ? "warn" : "ok", title: `${subject.name}: ${t(`mode.${mode}`)}`, lines };
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

function ask(subject) {
  if (!(reasons.get(subject.key) || "").trim()) {
    result = { kind: "refused", title: t("mode.need_reason"), lines: [] };
  } else {
    confirming = subject.key;
    result = null;
  }
  draw();
}

function card(subject) {
  const emergency = subject.mode === "emergency";
  const next = target(subject);
  const confirm = confirming === subject.key
    ? h("div", { class: "confirm", role: "alertdialog" }, [
      h("strong", {}, `${t("mode.confirm_text")} ${subject.name} → ${t(`mode.${next}`)}`),
      h("div", { class: "row" }, [
        h("button", { type: "button", class: "mode-confirm", onclick: () => switchMode(subject) }, t("mode.confirm")),
        h("button", { type: "button", class: "secondary mode-cancel", onclick: () => { confirming = null; draw(); } }, t("common.cancel")),
      ]),
    ])
    : null;
  const state = subject.kind === "street"
    ? subject.members.map((c) => `${c.name}: ${t(`mode.${c.mode}`)}`).join(" · ")
    : subject.since ? `${t("mode.since")} ${when(subject.since)}` : "";
  return h("div", { class: `card mode-card ${subject.kind}${emergency ? " emergency" : ""}`, dataset: subject.dataset }, [
    h("div", { class: "bar" }, [
      h("h3", {}, subject.name),
      subject.kind === "street"
        ? h("span", { class: "badge street" }, t("common.street"))
        : h("span", { class: `badge mode-state m-${subject.mode}` }, t(`mode.${subject.mode}`)),
      h("span", { class: "hint" }, state),
    ]),
    h("div", { class: "row" }, [
      h("input", {
        class: "mode-reason", placeholder: t("mode.reason"), maxlength: 500, size: 40,
        value: reasons.get(subject.key) || "",
        oninput: (e) => reasons.set(subject.key, e.target.value),
      }),
      h("button", { type: "button", class: `mode-switch${emergency ? " secondary" : ""}`, onclick: () => ask(subject) },
        t(next === "emergency" ? (subject.kind === "street" ? "mode.street_to_emergency" : "mode.to_emergency") : (subject.kind === "street" ? "mode.street_to_peacetime" : "mode.to_peacetime"))),
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
    ...subjects().map(card),
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
