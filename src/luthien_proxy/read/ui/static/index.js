// /ui: every call, newest first, as it happens. The first page subscribes to /api/calls/stream and
// then loads /api/calls: a call that starts appears at the top as running, its summary replaces it
// when it ends. The search (text, model, key, action, outcome, session, time range) and the paging
// cursor live in the page's URL, so a reload or a shared link shows the same calls; the calls a
// search finds can be exported as JSON Lines.

import {CALL_COLUMNS, callRow, sessionsTable} from "/ui/static/call_rows.js";
import {el, errorNotice, getJSON, mountPage, notice, param, replaceChildren, url} from "/ui/static/common.js";
import {liveIndicator, subscribe} from "/ui/static/live.js";

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;
const SESSIONS_SHOWN = 10;
const SESSIONS_REFRESH_MS = 500;

const FILTERS = ["q", "outcome", "model", "key", "action", "trace_id", "since", "until"];
const filters = Object.fromEntries(FILTERS.map((name) => [name, param(name)]));
// What the text search covers, as the API searches it (backends/store/call_index.py TEXT_FIELDS).
const TEXT_FIELDS = ["request_preview", "response_preview", "decision", "tool_calls", "error"];
const ACTIONS = ["block", "edit", "defer_to_trusted", "resample", "audit", "audit_approved", "audit_denied",
  "audit_edited", "reject", "judge", "allow"];
const before = positiveInt(param("before"));
const limit = Math.min(positiveInt(param("limit")) ?? DEFAULT_LIMIT, MAX_LIMIT);
// An older page is history: calls happening now belong on the first page.
const live = before === null;

const rows = new Map(); // call_id -> summary
let order = []; // call ids, top row first
let next = null;
let loaded = false;
let loading = null; // events received while /api/calls is being read, replayed on its answer
let loadAgain = false;
let sessionsTimer = null;

const main = mountPage("index");
const indicator = liveIndicator();
const tbody = el("tbody", {onclick: openRow});
const table = el("table", {id: "calls-table", class: "data calls", hidden: true},
  el("thead", {}, el("tr", {}, CALL_COLUMNS.map((name) => el("th", {}, name)))),
  tbody);
const callsNote = el("div", {id: "calls-note"}, el("p", {class: "muted"}, "Loading…"));
const pagerBox = el("div", {id: "calls-pager"});
const sessionsBox = el("div", {id: "sessions"}, el("p", {class: "muted"}, "Loading…"));
replaceChildren(main,
  el("div", {class: "page-head"}, el("h1", {}, "Calls"),
    indicator.node),
  filterForm(),
  callsNote, table, pagerBox,
  el("h2", {}, "Recent sessions"),
  sessionsBox);

if (live) {
  subscribe("/api/calls/stream", {indicator, onEvent: receive, reload: loadCalls, loaded: () => loaded});
} else {
  indicator.set("paused", "paused (an older page)");
  loadCalls();
}
loadSessions();

function positiveInt(text) {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : null;
}

/** This page's URL with the current filters (and `limit` when not the default) plus `extra`. */
function pageUrl(extra = {}) {
  return url("/ui", {...filters, limit: limit === DEFAULT_LIMIT ? undefined : limit, ...extra});
}

function filterForm() {
  const outcome = el("select", {name: "outcome", id: "filter-outcome", "aria-label": "outcome",
    onchange: (event) => event.target.form.requestSubmit()}, el("option", {value: ""}, "any outcome"));
  getJSON("/api/outcomes").then((result) => {
    if (!result.ok) return;
    for (const [id, label] of Object.entries(result.body.outcomes ?? {})) {
      outcome.append(el("option", {value: id, selected: id === filters.outcome}, label));
    }
  });
  const text = (name, placeholder, extra = {}) => el("input", {type: "search", name, id: `filter-${name}`,
    placeholder, "aria-label": placeholder, value: filters[name] ?? undefined, ...extra});
  const time = (name, label) => el("label", {class: "when"}, label, " ",
    el("input", {type: "datetime-local", name, id: `filter-${name}`, "aria-label": label,
      value: localInput(filters[name]) ?? undefined}));
  const active = Object.values(filters).some((value) => value !== null);
  return el("form", {id: "filters", class: "filters", onsubmit: applyFilters},
    text("q", "search text, tools, decisions", {class: "search"}),
    outcome, text("model", "model"), text("key", "key alias"),
    text("action", "action", {list: "actions"}),
    el("datalist", {id: "actions"}, ACTIONS.map((action) => el("option", {value: action}))),
    text("trace_id", "trace / session id"), time("since", "from"), time("until", "to"),
    el("button", {type: "submit"}, "Search"),
    el("a", {href: url("/api/calls/export", {format: "jsonl", ...filters}), id: "export-jsonl",
      download: "calls.jsonl", title: "every call this search finds, one JSON summary a line"}, "Export JSONL"),
    active ? el("a", {href: url("/ui", {limit: limit === DEFAULT_LIMIT ? undefined : limit}), class: "clear"},
      "clear filters") : null);
}

/** An ISO time from the URL as a datetime-local input's value (local time, to the minute). */
function localInput(iso) {
  const date = iso === null ? null : new Date(iso);
  if (date === null || Number.isNaN(date.getTime())) return null;
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
    + `T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A filter change starts again from the newest calls (the cursor belonged to the old listing). */
function applyFilters(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const chosen = (name) => String(form.get(name) ?? "").trim() || undefined;
  // A datetime-local value is local time: the URL (and the API) carry it in UTC.
  const moment = (name) => chosen(name) && new Date(chosen(name)).toISOString();
  const picked = Object.fromEntries(FILTERS.map((name) => [name, chosen(name)]));
  location.assign(url("/ui", {...picked, since: moment("since"), until: moment("until"),
    limit: limit === DEFAULT_LIMIT ? undefined : limit}));
}

function receive(event) {
  const call = event?.call;
  if (!["call_started", "call_summary"].includes(event?.type) || typeof call?.call_id !== "string") return;
  if (loading) loading.push(event);
  apply(event);
  render();
  if (call.trace_id && event.type === "call_summary") refreshSessionsSoon();
}

/** A live event into the table: a start adds a running row on top, a summary replaces the call's
 * row (or adds one on top); a call the filters exclude is not shown. */
function apply({type, call}) {
  const known = rows.has(call.call_id);
  if (type === "call_started" && known) return; // its summary (or the listing) came first
  if (!matches(call)) {
    if (known) {
      rows.delete(call.call_id);
      order = order.filter((id) => id !== call.call_id);
    }
    return;
  }
  if (!known) order.unshift(call.call_id);
  rows.set(call.call_id, call);
}

/** Whether a live call matches the search, as the API would match its summary. */
function matches(call) {
  const started = call.started_at ?? call.completed_at ?? Date.now() / 1000;
  return (filters.outcome === null || call.outcome === filters.outcome)
    && (filters.model === null || call.model === filters.model)
    && (filters.key === null || call.key_alias === filters.key)
    && (filters.action === null || (call.actions ?? []).includes(filters.action))
    && (filters.trace_id === null || call.trace_id === filters.trace_id)
    && (filters.since === null || started >= Date.parse(filters.since) / 1000)
    && (filters.until === null || started < Date.parse(filters.until) / 1000)
    && (filters.q === null || textMatches(call, filters.q));
}

function textMatches(call, q) {
  const text = TEXT_FIELDS.map((name) => call[name]).flat().filter((v) => v !== null && v !== undefined && v !== "")
    .join("\n").toLowerCase();
  return q.toLowerCase().split(/\s+/).filter(Boolean).every((term) => text.includes(term));
}

async function loadCalls() {
  if (loading) {
    loadAgain = true;
    return;
  }
  loading = [];
  const result = await getJSON(url("/api/calls", {limit, before: before ?? undefined, ...filters}));
  const arrived = loading;
  loading = null;
  loaded = true;
  rows.clear();
  order = [];
  if (!result.ok) {
    replaceChildren(callsNote, errorNotice("Could not load calls", result));
    table.hidden = true;
  } else {
    for (const call of [...(result.body.running ?? []), ...(result.body.calls ?? [])]) {
      if (rows.has(call.call_id)) continue;
      rows.set(call.call_id, call);
      order.push(call.call_id);
    }
    next = result.body.next ?? null;
    for (const event of arrived) apply(event);
    render();
  }
  if (loadAgain) {
    loadAgain = false;
    loadCalls();
  }
}

function render() {
  if (!loaded) return;
  replaceChildren(tbody, order.map((id) => callRow(rows.get(id))));
  table.hidden = order.length === 0;
  replaceChildren(callsNote, order.length ? null : emptyNote());
  replaceChildren(pagerBox, pager());
}

/** A click anywhere on a row opens the call, except on a link of its own. */
function openRow(event) {
  if (event.target.closest("a")) return;
  const callId = event.target.closest("tr[data-call-id]")?.dataset.callId;
  if (callId) location.assign(url("/ui/conversation", {call_id: callId}));
}

function pager() {
  const links = [
    before !== null ? el("a", {href: pageUrl(), class: "newest"}, "« Newest") : null,
    next !== null ? el("a", {href: pageUrl({before: next}), class: "older"}, "Older ›") : null,
  ].filter(Boolean);
  return links.length ? el("nav", {class: "pager", "aria-label": "pages"}, links) : null;
}

function emptyNote() {
  if (Object.values(filters).some((value) => value !== null)) {
    return notice("info", before === null ? "No calls match these filters." : "No older calls match these filters.",
      " ", el("a", {href: url("/ui"), class: "clear"}, "Show every call"), ".");
  }
  if (before !== null) return notice("info", "No older calls. ", el("a", {href: pageUrl()}, "Newest calls"), ".");
  return emptyState();
}

/** What a new user does to see a first call here. */
function emptyState() {
  const example = [
    `curl -s ${location.origin}/v1/chat/completions \\`,
    `  -H "Authorization: Bearer $API_KEY" -H 'content-type: application/json' \\`,
    `  -d '{"model": "demo-echo", "messages": [{"role": "user", "content": "hello"}]}'`,
  ].join("\n");
  return el("div", {id: "empty-calls", class: "empty"},
    el("p", {}, el("strong", {}, "No calls recorded yet."), " Start Luthien with ",
      el("code", {}, "luthien up --demo"), " (or ", el("code", {}, "make demo"), "): it prints the doors to ",
      "point a client or an agent at — the OpenAI and Anthropic APIs, through LiteLLM or native on this ",
      "control plane — and the API key they take. For example, through the native OpenAI door, with ",
      el("code", {}, "$API_KEY"), " the printed key:"),
    el("pre", {class: "command"}, example),
    el("p", {class: "muted"}, "Calls show up here as they happen; there is no need to reload."));
}

async function loadSessions() {
  const result = await getJSON(url("/api/hooks/recent_traces", {limit: SESSIONS_SHOWN}));
  replaceChildren(sessionsBox,
    result.ok ? sessionsTable(result.body.traces ?? []) : errorNotice("Could not load sessions", result));
}

function refreshSessionsSoon() {
  // A burst of calls (an agent's turns) refreshes the list once.
  if (sessionsTimer !== null) return;
  sessionsTimer = setTimeout(() => {
    sessionsTimer = null;
    loadSessions();
  }, SESSIONS_REFRESH_MS);
}
