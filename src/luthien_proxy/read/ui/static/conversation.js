// The live view: one call (/ui/conversation?call_id=) or every call of a trace
// (/ui/conversation/by_trace?trace_id=). Subscribes to the SSE stream first and then loads the
// snapshot, merging the two by (call_id, sequence), so nothing between them is lost. A call's
// start and end re-read the snapshot: its summary and neutral rendering are built on the server.

import {CallRecord, isTerminal} from "/ui/static/calls.js";
import {callPanel} from "/ui/static/call_panel.js";
import {el, errorNotice, getJSON, mountPage, notice, param, replaceChildren, url} from "/ui/static/common.js";

const byTrace = location.pathname.replace(/\/+$/, "").endsWith("/by_trace");
const idName = byTrace ? "trace_id" : "call_id";
const id = param(idName);

// While a call is unfinished and the stream has been quiet this long, the snapshot is fetched
// again: it catches an event published in the instant between subscribing and reading.
const QUIET_REFRESH_MS = 4000;
const MAX_RETRY_MS = 15000;
const RENDER_DELAY_MS = 30;

const records = new Map();
const rendered = new Map();
const main = mountPage("conversation");
const status = el("span", {class: "connection", id: "connection", "data-state": "connecting"}, "connecting…");
const snapshotNote = el("div", {id: "snapshot-note"}, el("p", {class: "muted"}, "Loading…"));
const panels = el("div", {id: "calls", class: "calls"});
let snapshotLoaded = false;
let snapshotInFlight = null;
let snapshotAgain = false;
let lastEventAt = Date.now();
let retryMs = 1000;
let renderQueued = false;

if (!id) {
  document.title = "Luthien — live view";
  replaceChildren(main,
    el("h1", {}, byTrace ? "Trace live view" : "Call live view"),
    notice("warn", "This page needs a ", el("code", {}, idName), " query parameter, e.g. ",
      el("code", {}, `${location.pathname}?${idName}=…`), ". Pick one from the ",
      el("a", {href: "/ui"}, "recent calls"), "."));
} else {
  document.title = byTrace ? `Luthien — trace ${id}` : `Luthien — call ${id}`;
  replaceChildren(main,
    el("div", {class: "page-head"},
      el("h1", {}, byTrace ? "Trace " : "Call ", el("code", {}, id)),
      el("span", {class: "live-status"}, "live updates: ", status)),
    byTrace ? null : el("p", {class: "muted"}, "Live view of one call. ",
      el("a", {href: url("/ui/hooks/trace", {call_id: id})}, "Hook records"), " for this call."),
    snapshotNote,
    panels);
  connect();
  setInterval(refreshWhenQuiet, 1000);
}

function connect() {
  const streamUrl = byTrace
    ? url("/api/hooks/conversation/stream_by_trace", {trace_id: id})
    : url("/api/hooks/conversation/stream", {call_id: id});
  const source = new EventSource(streamUrl);
  setConnection("connecting", "connecting…");
  source.onopen = () => {
    retryMs = 1000;
    setConnection("live", "live");
    // Any reconnect may have missed events: read the snapshot again.
    loadSnapshot();
  };
  source.onmessage = (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    receive(event);
  };
  // Notices about the subscription itself (Redis lost and regained), not events of a call.
  source.addEventListener("bus_error", (message) => {
    setConnection("interrupted", noticeDetail(message, "live events interrupted; reconnecting"));
  });
  source.addEventListener("bus_recovered", () => {
    setConnection("live", "live");
    // Events published during the gap never reach us: the recorded snapshot has them.
    loadSnapshot();
  });
  source.onerror = () => {
    if (!snapshotLoaded) loadSnapshot();
    if (source.readyState === EventSource.CLOSED) {
      // The browser gives up on a non-200 answer (e.g. 429 when rate-limited): retry with backoff.
      source.close();
      setConnection("retrying", `unavailable, retrying in ${Math.round(retryMs / 1000)} s`);
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    } else {
      setConnection("retrying", "reconnecting…");
    }
  };
}

function noticeDetail(message, fallback) {
  try {
    return JSON.parse(message.data).detail || fallback;
  } catch {
    return fallback;
  }
}

function setConnection(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

function record(callId, traceId = null) {
  let found = records.get(callId);
  if (!found) {
    found = new CallRecord(callId, traceId);
    records.set(callId, found);
  }
  return found;
}

function receive(event) {
  if (!event || typeof event.call_id !== "string" || typeof event.sequence !== "number") return;
  if (!byTrace && event.call_id !== id) return;
  lastEventAt = Date.now();
  const target = record(event.call_id, event.trace_id ?? null);
  const expected = target.maxSequence() + 1;
  if (!target.addEvent(event)) return;
  // A jump in the sequence means we missed events (published before we subscribed): re-read.
  // So does a start or an end: the server's rendering of the request and the response, and the
  // outcome, come with the snapshot.
  if (event.sequence > expected || event.type === "request_started" || event.type === "request_completed") {
    loadSnapshot();
  }
  scheduleRender();
}

function loadSnapshot() {
  if (snapshotInFlight) {
    // The read in flight may have started before what asked for this one: read once more after it.
    snapshotAgain = true;
    return snapshotInFlight;
  }
  snapshotInFlight = fetchSnapshot().finally(() => {
    snapshotInFlight = null;
    if (snapshotAgain) {
      snapshotAgain = false;
      loadSnapshot();
    }
  });
  return snapshotInFlight;
}

async function fetchSnapshot() {
  const result = await getJSON(byTrace
    ? url("/api/hooks/conversation/by_trace", {trace_id: id})
    : url("/api/hooks/conversation", {call_id: id}));
  snapshotLoaded = true;
  snapshotNote.dataset.kind = result.ok ? "" : result.status === 404 ? "waiting" : "error";
  if (result.ok) {
    adopt(result.body);
    replaceChildren(snapshotNote);
  } else if (result.status === 404) {
    replaceChildren(snapshotNote, notice("info",
      `Nothing recorded for ${idName} `, el("code", {}, id), " yet. ",
      "Waiting for it: this page updates as soon as the call starts."));
  } else {
    replaceChildren(snapshotNote, errorNotice("Could not load the recorded state", result));
  }
  scheduleRender();
}

function adopt(body) {
  const events = Array.isArray(body.events) ? body.events : [];
  const views = byTrace ? (body.calls ?? []) : (body.call ? [body.call] : []);
  for (const view of views) {
    record(view.call_id, view.trace_id ?? null)
      .setSnapshot(view, events.filter((event) => event.call_id === view.call_id));
  }
  // Events of calls the snapshot has no view for still count.
  for (const event of events) {
    if (!views.some((view) => view.call_id === event.call_id)) record(event.call_id, event.trace_id).addEvent(event);
  }
}

function refreshWhenQuiet() {
  if (!snapshotLoaded) return;
  // A call the live events finished but whose recorded end the snapshot did not have yet (the
  // store writes a moment after publishing): read again until it has.
  if ([...records.values()].some((r) => r.stale())) {
    loadSnapshot();
    return;
  }
  if (Date.now() - lastEventAt < QUIET_REFRESH_MS) return;
  const unfinished = records.size === 0 || [...records.values()].some((r) => !isTerminal(r.state().status));
  if (unfinished) {
    lastEventAt = Date.now();
    loadSnapshot();
  }
}

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  // A timer, not requestAnimationFrame: frames stop in background tabs, and a live view left in
  // one must still be current when the user comes back.
  setTimeout(() => {
    renderQueued = false;
    render();
  }, RENDER_DELAY_MS);
}

function render() {
  // Live events arrived for a call the snapshot did not know yet: it is no longer awaited.
  if (records.size && snapshotNote.dataset.kind === "waiting") {
    snapshotNote.dataset.kind = "";
    replaceChildren(snapshotNote);
  }
  const states = [...records.values()].map((r) => r.state());
  states.sort((a, b) => startedKey(a) - startedKey(b));
  const nodes = states.map((state) => {
    // Only a call whose state changed is rebuilt, so open <details> and selections survive.
    const key = JSON.stringify(state);
    const cached = rendered.get(state.call_id);
    if (cached && cached.key === key) return cached.node;
    const node = callPanel(state, {standalone: !byTrace});
    rendered.set(state.call_id, {key, node});
    return node;
  });
  const summary = byTrace && states.length
    ? el("p", {class: "muted summary"}, `${states.length} call${states.length === 1 ? "" : "s"} in this trace.`)
    : null;
  const current = [...panels.children];
  const wanted = summary ? [summary, ...nodes] : nodes;
  if (current.length === wanted.length && current.every((node, i) => node === wanted[i] || node.isEqualNode(wanted[i]))) {
    return;
  }
  replaceChildren(panels, wanted);
}

function startedKey(state) {
  const value = state.started_at;
  if (typeof value === "number") return value * 1000;
  const parsed = value ? Date.parse(value) : NaN;
  return Number.isNaN(parsed) ? Number.MAX_SAFE_INTEGER : parsed;
}
