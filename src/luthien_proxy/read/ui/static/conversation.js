// The live view of one call (/ui/conversation?call_id=; a trace has its own page, session.js).
// Subscribes to the SSE stream first and then loads the snapshot, merging the two by sequence,
// so nothing between them is lost. A call's
// start and end re-read the snapshot: its summary and neutral rendering are built on the server.

import {CallRecord, isTerminal} from "/ui/static/calls.js";
import {callPanel} from "/ui/static/call_panel.js";
import {el, errorNotice, getJSON, mountPage, notice, param, replaceChildren, url} from "/ui/static/common.js";
import {CALL_WORDS, liveIndicator, renderSoon, subscribe} from "/ui/static/live.js";

const id = param("call_id");

// While a call is unfinished and the stream has been quiet this long, the snapshot is fetched
// again: it catches an event published in the instant between subscribing and reading.
const QUIET_REFRESH_MS = 4000;
// The server's words for a bus interruption (they say what failed), else the call pages' own.
const WORDS = {...CALL_WORDS, interrupted: (detail) => detail ?? CALL_WORDS.interrupted()};

// The call's record, once anything about it is known, and the state last rendered.
let record = null;
let renderedKey = null;
const main = mountPage("conversation");
const indicator = liveIndicator();
const snapshotNote = el("div", {id: "snapshot-note"}, el("p", {class: "muted"}, "Loading…"));
const panels = el("div", {id: "calls", class: "calls"});
let snapshotLoaded = false;
let snapshotInFlight = null;
let snapshotAgain = false;
let lastEventAt = Date.now();
const scheduleRender = renderSoon(render);

if (!id) {
  document.title = "Luthien — live view";
  replaceChildren(main,
    el("h1", {}, "Call live view"),
    notice("warn", "This page needs a ", el("code", {}, "call_id"), " query parameter, e.g. ",
      el("code", {}, `${location.pathname}?call_id=…`), ". Pick one from the ",
      el("a", {href: "/ui"}, "recent calls"), "."));
} else {
  document.title = `Luthien — call ${id}`;
  replaceChildren(main,
    el("div", {class: "page-head"},
      el("h1", {}, "Call ", el("code", {}, id)),
      indicator.node),
    el("p", {class: "muted"}, "Live view of one call. ",
      el("a", {href: url("/ui/hooks/trace", {call_id: id})}, "Hook records"), " for this call."),
    snapshotNote,
    panels);
  subscribe(url("/api/hooks/conversation/stream", {call_id: id}),
    {indicator, onEvent: receive, reload: loadSnapshot, loaded: () => snapshotLoaded, words: WORDS});
  setInterval(refreshWhenQuiet, 1000);
}

function callRecord() {
  record ??= new CallRecord(id);
  return record;
}

function receive(event) {
  if (!event || typeof event.call_id !== "string" || typeof event.sequence !== "number") return;
  if (event.call_id !== id) return;
  lastEventAt = Date.now();
  const target = callRecord();
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
  const result = await getJSON(url("/api/hooks/conversation", {call_id: id}));
  snapshotLoaded = true;
  snapshotNote.dataset.kind = result.ok ? "" : result.status === 404 ? "waiting" : "error";
  if (result.ok) {
    adopt(result.body);
    replaceChildren(snapshotNote);
  } else if (result.status === 404) {
    replaceChildren(snapshotNote, notice("info",
      "Nothing recorded for call_id ", el("code", {}, id), " yet. ",
      "Waiting for it: this page updates as soon as the call starts."));
  } else {
    replaceChildren(snapshotNote, errorNotice("Could not load the recorded state", result));
  }
  scheduleRender();
}

function adopt(body) {
  const events = (Array.isArray(body.events) ? body.events : []).filter((event) => event.call_id === id);
  if (body.call) callRecord().setSnapshot(body.call, events);
  // Without a view the events still count.
  else for (const event of events) callRecord().addEvent(event);
}

function refreshWhenQuiet() {
  if (!snapshotLoaded) return;
  // A call the live events finished but whose recorded end the snapshot did not have yet (the
  // store writes a moment after publishing): read again until it has.
  if (record?.stale()) {
    loadSnapshot();
    return;
  }
  if (Date.now() - lastEventAt < QUIET_REFRESH_MS) return;
  if (!record || !isTerminal(record.state().status)) {
    lastEventAt = Date.now();
    loadSnapshot();
  }
}

function render() {
  if (!record) return;
  // Live events arrived for a call the snapshot did not know yet: it is no longer awaited.
  if (snapshotNote.dataset.kind === "waiting") {
    snapshotNote.dataset.kind = "";
    replaceChildren(snapshotNote);
  }
  // Only a changed state rebuilds the panel, and an equal panel stays in place, so open
  // <details> and selections survive.
  const state = record.state();
  const key = JSON.stringify(state);
  if (key === renderedKey) return;
  renderedKey = key;
  const node = callPanel(state);
  if (panels.childNodes.length === 1 && panels.firstChild.isEqualNode(node)) return;
  replaceChildren(panels, node);
}
