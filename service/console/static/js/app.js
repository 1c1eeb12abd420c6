// The console's shell: sign-in, navigation between views, the live event feed.
import { ApiError, api, feedEnd, followEvents, key, setKey } from "./api.js";
import { closeDetails } from "./details.js";
import { language, setLanguage, t, translateStatic } from "./i18n.js";
import {
  changed,
  loadCommunities,
  loadLoad,
  loadRequests,
  loadResponders,
  loadWorld,
  loadZones,
  onChange,
  refreshRequest,
  store,
} from "./store.js";
import * as indicators from "./indicators.js";
import * as intake from "./intake.js";
import * as map from "./map.js";
import * as mode from "./mode.js";
import * as queue from "./queue.js";
import * as responders from "./responders.js";
import * as runs from "./runs.js";
import * as zones from "./zones.js";

const VIEWS = { queue, map, zones, mode, runs, responders, indicators, import: intake };
let current = null;
let feed = null;

export function toast(message, kind = "info") {
  const node = document.getElementById("toast");
  node.textContent = message;
  node.className = `toast ${kind}`;
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (node.hidden = true), 5000);
}

function show(name) {
  const view = VIEWS[name] ? name : "queue";
  for (const section of document.querySelectorAll(".view")) section.hidden = true;
  const section = document.getElementById(`view-${view}`);
  section.hidden = false;
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.view === view);
  }
  current = view;
  VIEWS[view].render(section);
}

function rerender() {
  if (current) VIEWS[current].render(document.getElementById(`view-${current}`));
}

function setLive(on) {
  const node = document.getElementById("live");
  node.hidden = false;
  node.textContent = on ? t("live.on") : t("live.off");
  node.classList.toggle("off", !on);
}

// Events name what changed; the console re-reads it and redraws what shows it.
let pending = Promise.resolve();
function onEvent(event) {
  pending = pending.then(async () => {
    try {
      if (event.subject_type === "service_request") {
        await refreshRequest(event.subject_id);
        changed("requests");
      } else if (event.subject_type === "assignment" && event.payload?.request_id) {
        await refreshRequest(event.payload.request_id);
        await loadLoad(store.loadDay);
        changed("requests");
      } else if (event.subject_type === "assignment") {
        const assignment = await api(`/v1/assignments/${event.subject_id}`);
        await refreshRequest(assignment.request_id);
        await loadLoad(store.loadDay);
        changed("requests");
      } else if (event.subject_type === "zone") {
        // A zone drawn, changed or lifted re-tags requests without an event of their own.
        await loadZones();
        await loadRequests();
        changed("zones");
        changed("requests");
      } else if (event.kind === "community.mode_changed") {
        // The switch re-prioritises open requests: read them again, so the queue re-sorts.
        await loadCommunities();
        await loadRequests();
        changed("communities");
        changed("requests");
      } else if (event.kind.startsWith("run.")) {
        changed("runs");
      }
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
  });
}

async function start() {
  document.getElementById("signin").hidden = true;
  document.getElementById("nav").hidden = false;
  document.getElementById("signout").hidden = false;
  await loadWorld();
  mode.banner();
  const after = await feedEnd();
  feed = new AbortController();
  followEvents({ after, onEvent, onStatus: setLive, signal: feed.signal });
  show(location.hash.slice(1));
}

async function signIn(event) {
  event.preventDefault();
  const input = document.getElementById("key");
  const error = document.getElementById("signin-error");
  error.textContent = "";
  setKey(input.value.trim());
  try {
    // Dispatchers (and admins) may list runs; any other role is refused with 403.
    await api("/v1/dispatch-runs", { params: { limit: 1 } });
  } catch (failure) {
    setKey(null);
    error.textContent = failure.status === 403 ? t("signin.role") : t("signin.bad");
    return;
  }
  input.value = "";
  await start();
}

function signOut() {
  feed?.abort();
  setKey(null);
  location.hash = "";
  location.reload();
}

function applyLanguage() {
  document.getElementById("lang").textContent = language() === "zh" ? "English" : "中文";
  document.title = t("app.title");
  translateStatic();
  if (key() && store.communities.length) mode.banner();
  rerender();
}

function boot() {
  setLanguage(language());
  applyLanguage();
  document.getElementById("signin-form").addEventListener("submit", signIn);
  document.getElementById("signout").addEventListener("click", signOut);
  document.getElementById("lang").addEventListener("click", () => {
    setLanguage(language() === "zh" ? "en" : "zh");
    applyLanguage();
  });
  window.addEventListener("hashchange", () => {
    if (key()) show(location.hash.slice(1));
  });
  document.addEventListener("keydown", (e) => e.key === "Escape" && closeDetails());
  onChange((what) => {
    if (what === "communities") mode.banner();
    if (current && VIEWS[current].listens.includes(what)) rerender();
  });
  if (key()) start().catch(() => signOut());
}

export async function refreshAll() {
  await loadResponders();
  await loadLoad(store.loadDay);
  changed("responders");
}

boot();
