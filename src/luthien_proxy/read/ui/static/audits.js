// /ui/audits: the audit queue. Tool calls a protocol held for a person wait here while their agent
// waits: the page subscribes to /api/audits/stream, then reads the pending items and the recent
// decisions, so an item appears (and a decision taken anywhere moves it) without a reload. A
// decision is a POST to /api/audits/{id}/decision with the admin session. `#<id>` (the address
// the webhook links to) scrolls to that item and highlights it. Sessions held for their summed
// suspicion are listed above the queue (read again on any news) with "Clear session".

import {decidedRow, pendingCard, sessionRow, tickCard} from "/ui/static/audit_cards.js";
import {el, errorNotice, errorText, getJSON, mountPage, notice, postJSON, replaceChildren, setAuditCount, url}
  from "/ui/static/common.js";
import {liveIndicator, subscribe} from "/ui/static/live.js";

const PENDING_LIMIT = 500;
const RECENT_SHOWN = 50;
const RECENT_READ = 200; // the newest items (pending ones among them), from which the decided are shown
const BUDGET_REFRESH_MS = 250;
const AUDITOR_KEY = "luthien.auditor";

const pending = new Map(); // id -> {item, seenAt (performance.now() when item.waited_s was true), node}
const recent = new Map(); // id -> decided item
let loaded = false;
let loading = null; // items received while the lists are being read, applied again on their answer
let loadAgain = false;
let budgetTimer = null;
let scrolledTo = null; // the deep-linked id already scrolled to
let lookedUp = null; // the deep-linked id already asked for

const main = mountPage("audits");
const indicator = liveIndicator();
const budgetBox = el("p", {id: "audit-budget", class: "audit-budget"}, "Audit budget: …");
const auditor = el("input", {id: "auditor", type: "text", maxlength: 100, placeholder: "admin",
  "aria-label": "deciding as", value: stored(), onchange: () => store(auditor.value.trim())});
const flash = el("div", {id: "audit-flash"});
const pendingCount = el("span", {class: "count", id: "pending-count"});
const pendingNote = el("div", {id: "pending-note"}, el("p", {class: "muted"}, "Loading…"));
const pendingList = el("div", {id: "pending", class: "audit-pending"});
const recentNote = el("div", {id: "recent-note"});
const recentList = el("ol", {id: "recent", class: "audit-recent"});
const sessionsHead = el("h2", {id: "sessions-head", hidden: true}, "Sessions held for their suspicion");
const sessionsList = el("ol", {id: "sessions", class: "held-sessions"});
replaceChildren(main,
  el("div", {class: "page-head"}, el("h1", {}, "Audit queue"),
    indicator.node,
    el("label", {class: "auditor"}, "deciding as ", auditor)),
  budgetBox,
  flash,
  sessionsHead, sessionsList,
  el("h2", {}, "Waiting for a decision", pendingCount),
  pendingNote, pendingList,
  el("h2", {}, "Recent decisions"),
  recentNote, recentList);

subscribe("/api/audits/stream", {indicator, onEvent: receive, reload: load, loaded: () => loaded});
setInterval(tick, 1000);
window.addEventListener("hashchange", () => {
  scrolledTo = null;
  lookedUp = null;
  highlight();
});

function stored() {
  try {
    return localStorage.getItem(AUDITOR_KEY) ?? undefined;
  } catch {
    return undefined; // storage off: the name is asked again on each visit
  }
}

function store(name) {
  try {
    if (name) localStorage.setItem(AUDITOR_KEY, name);
    else localStorage.removeItem(AUDITOR_KEY);
  } catch {
    // storage off: nothing to keep
  }
}

/** A live event: news of an item (or of a held session) updates the page without a reload. */
function receive(event) {
  if (["audit_created", "audit_decided", "session_cleared"].includes(event?.type)) loadSessions();
  if (!["audit_created", "audit_decided"].includes(event?.type) || typeof event.item?.id !== "string") return;
  if (loading) loading.push(event.item);
  apply(event.item);
  render();
  refreshBudgetSoon();
}

/** One item into the page's state: a pending item gets a card (kept as it is if it has one, so a
 * comment being typed survives), a decided one leaves the pending list for the recent one. */
function apply(item) {
  if (item.status === "pending") {
    if (recent.has(item.id) || pending.has(item.id)) return; // decided already, or shown
    pending.set(item.id, {item, seenAt: performance.now(), node: pendingCard(item, decide)});
    return;
  }
  const shown = pending.get(item.id);
  if (shown) {
    shown.node.remove();
    pending.delete(item.id);
  }
  recent.set(item.id, item);
}

async function load() {
  if (loading) {
    loadAgain = true;
    return;
  }
  loading = [];
  loadSessions();
  const [waiting, latest] = await Promise.all([
    getJSON(url("/api/audits", {status: "pending", limit: PENDING_LIMIT})),
    getJSON(url("/api/audits", {limit: RECENT_READ})),
  ]);
  const arrived = loading;
  loading = null;
  loaded = true;
  if (!waiting.ok || !latest.ok) {
    replaceChildren(pendingNote, errorNotice("Could not load the audit queue", waiting.ok ? latest : waiting));
  } else {
    const stillPending = new Set(waiting.body.items.map((item) => item.id));
    for (const [id, shown] of pending) {
      if (!stillPending.has(id)) {
        shown.node.remove(); // decided while the page was not listening; the recent list has it
        pending.delete(id);
      }
    }
    for (const item of [...latest.body.items, ...waiting.body.items, ...arrived]) apply(item);
    renderBudget(waiting.body.budget);
    replaceChildren(pendingNote);
  }
  render();
  if (loadAgain) {
    loadAgain = false;
    load();
  }
}

function render() {
  if (!loaded) return;
  // Cards stay where they are (moving a node would take the focus from a comment being typed);
  // new ones go in their place, oldest (waiting longest) first.
  const cardsInOrder = [...pending.values()].sort((a, b) => a.item.created_at - b.item.created_at);
  cardsInOrder.forEach(({node}, index) => {
    if (pendingList.children[index] !== node) pendingList.insertBefore(node, pendingList.children[index] ?? null);
  });
  if (!pendingNote.querySelector(".notice-error")) {
    replaceChildren(pendingNote, pending.size ? null : el("div", {class: "empty", id: "no-pending"},
      "Nothing is waiting for a decision. A held tool call appears here as it happens."));
  }
  pendingCount.textContent = `${pending.size}`;
  setAuditCount(pending.size);
  document.title = `${pending.size ? `(${pending.size}) ` : ""}Luthien — audit queue`;
  const decided = [...recent.values()].sort((a, b) => (b.decided_at ?? 0) - (a.decided_at ?? 0));
  const shown = decided.slice(0, RECENT_SHOWN);
  const linked = recent.get(linkedId());
  if (linked && !shown.includes(linked)) shown.push(linked); // an older decision the address names
  replaceChildren(recentList, shown.map(decidedRow));
  replaceChildren(recentNote, decided.length ? null : el("p", {class: "muted", id: "no-recent"}, "No decisions yet."));
  tick();
  highlight();
}

function tick() {
  const now = performance.now();
  for (const {item, seenAt, node} of pending.values()) {
    tickCard(node, item, Number(item.waited_s ?? 0) + (now - seenAt) / 1000);
  }
}

/** Post a decision; null when it was taken, else what the card shows (the API's refusal). */
async function decide(item, body) {
  const by = auditor.value.trim();
  const result = await postJSON(`/api/audits/${encodeURIComponent(item.id)}/decision`,
    by ? {...body, by} : body);
  if (result.ok) {
    apply(result.body);
    render();
    refreshBudgetSoon();
    return null;
  }
  if (result.status === 401) return errorNotice("Not decided", result);
  if (result.status === 409 || result.status === 404) {
    // Someone decided first (or the item expired): say so, and show what happened to it.
    replaceChildren(flash, notice("warn", `Not decided: ${errorText(result)}`));
    const found = await getJSON(`/api/audits/${encodeURIComponent(item.id)}`);
    apply(found.ok ? found.body : {...item, status: "failed", failure: errorText(result)});
    render();
    return null;
  }
  return `Not decided: ${errorText(result)}`;
}

async function loadSessions() {
  const result = await getJSON("/api/audits/sessions");
  if (!result.ok) return; // the queue's own error says why
  const sessions = result.body.sessions ?? [];
  sessionsHead.hidden = !sessions.length;
  replaceChildren(sessionsList, sessions.map((session) => sessionRow(session, clearSession)));
}

/** Clear a held session (its suspicion restarts from 0); null when done, else the refusal. */
async function clearSession(session, comment) {
  const by = auditor.value.trim();
  const body = {trace_id: session.trace_id};
  if (session.scope === "key") body.key = session.key;
  if (comment) body.comment = comment;
  if (by) body.by = by;
  const result = await postJSON("/api/audits/sessions/clear", body);
  if (!result.ok) return `Not cleared: ${errorText(result)}`;
  await loadSessions();
  return null;
}

function renderBudget(budget) {
  if (budget === undefined) return;
  delete budgetBox.dataset.state;
  if (budget === null) {
    replaceChildren(budgetBox, "Audit budget: the policy sends nothing to a person.");
    return;
  }
  const used = Number(budget.used) || 0;
  const limit = Number(budget.limit) || 0;
  const left = Math.max(limit - used, 0);
  budgetBox.dataset.state = left ? "left" : "spent";
  replaceChildren(budgetBox, "Audit budget: ",
    el("strong", {class: "budget-used"}, String(used)), " used, ",
    el("strong", {class: "budget-left"}, String(left)), " left",
    ` of ${limit} per ${windowText(Number(budget.window_s) || 0)}`,
    left ? null : el("span", {class: "budget-spent"},
      " — spent: further calls get the protocol's fallback instead of a person"));
}

function windowText(seconds) {
  if (seconds && seconds % 3600 === 0) return seconds === 3600 ? "hour" : `${seconds / 3600} h`;
  if (seconds && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** Budget and items change together: read the budget again after a burst of news. */
function refreshBudgetSoon() {
  if (budgetTimer !== null) return;
  budgetTimer = setTimeout(async () => {
    budgetTimer = null;
    const result = await getJSON(url("/api/audits", {status: "pending", limit: 1}));
    if (result.ok) renderBudget(result.body.budget);
  }, BUDGET_REFRESH_MS);
}

function linkedId() {
  try {
    return decodeURIComponent(location.hash.slice(1));
  } catch {
    return location.hash.slice(1); // not percent-encoded text: the id as written
  }
}

/** The item named by the page's `#<id>`: highlighted, scrolled to once; asked for when it is in
 * neither list (an older decision), or reported unknown. */
async function highlight() {
  const id = linkedId();
  for (const node of document.querySelectorAll(".highlighted")) {
    if (node.id !== `audit-${id}`) node.classList.remove("highlighted");
  }
  if (!id) return;
  const node = document.getElementById(`audit-${id}`);
  if (!node) {
    if (lookedUp === id) return;
    lookedUp = id;
    const found = await getJSON(`/api/audits/${encodeURIComponent(id)}`);
    if (!found.ok) {
      replaceChildren(flash, errorNotice(`Audit item ${id}`, found));
      return;
    }
    apply(found.body);
    render(); // which highlights it
    return;
  }
  node.classList.add("highlighted");
  if (scrolledTo !== id) node.scrollIntoView({block: "center"});
  scrolledTo = id;
}
