// A session (/ui/session?trace_id=): every call of a trace as one timeline of turns — user and
// assistant text, tool calls and their results — each shown once, with the policy's decisions
// where they happened. Loads the trace's views, then grows from the trace's live stream: an event
// of a call re-reads that call's view (its neutral rendering is built on the server), and a running
// stream's chunks show as they arrive (the store records them in batches, so it lags them).

import {frameLabel} from "/ui/static/frames.js";
import {isBlockingDecision, renderDecision, renderMessage, renderParts, renderTools} from "/ui/static/parts.js";
import {sessionFacts, timeline} from "/ui/static/session_timeline.js";
import {
  el, errorNotice, formatDuration, formatTime, getJSON, mountPage, notice, outcomeBadge, param,
  replaceChildren, url,
} from "/ui/static/common.js";
import {CALL_WORDS, liveIndicator, renderSoon, subscribe} from "/ui/static/live.js";

const traceId = param("trace_id");
// A view read before the store has the event that triggered it is read again after this long,
// this many times at most (then the quiet refresh below takes over).
const BEHIND_RETRY_MS = 150;
const BEHIND_RETRIES = 40;
// While a call is unfinished and the stream has been quiet this long, its view is read again.
const QUIET_REFRESH_MS = 4000;

const main = mountPage("session");
/** call_id -> {view, sequence (the highest event sequence the view was built from)} */
const known = new Map();
/** call_id -> the highest sequence seen live (a view older than that is read again) */
const wanted = new Map();
/** call_id -> retries left while its view is behind the live events */
const behind = new Map();
/** call_id -> Map(index -> frames.js label) of a running call's final chunks received live */
const streaming = new Map();
const timers = new Map();
const inFlight = new Set();
const indicator = liveIndicator();
const facts = el("div", {id: "session-facts"});
const note = el("div", {id: "snapshot-note"}, el("p", {class: "muted"}, "Loading…"));
const calls = el("ol", {id: "timeline", class: "session-timeline"});
const rendered = new Map();
let lastEventAt = Date.now();
const scheduleRender = renderSoon(render);

if (!traceId) {
  document.title = "Luthien — session";
  replaceChildren(main, el("h1", {}, "Session"),
    notice("warn", "This page needs a ", el("code", {}, "trace_id"), " query parameter, e.g. ",
      el("code", {}, "/ui/session?trace_id=…"), ". Pick a trace from the ", el("a", {href: "/ui"}, "calls"), "."));
} else {
  document.title = `Luthien — session ${traceId}`;
  replaceChildren(main,
    el("div", {class: "page-head"},
      el("h1", {}, "Session ", el("code", {}, traceId)),
      el("a", {href: url("/api/traces/export", {format: "jsonl", trace_id: traceId}), id: "export-trace",
        download: "trace.jsonl", title: "every record of this session, one JSON record a line"}, "Export JSONL"),
      indicator.node),
    facts, note, calls);
  subscribe(url("/api/hooks/conversation/stream_by_trace", {trace_id: traceId}),
    {indicator, onEvent: receive, reload: loadTrace, words: CALL_WORDS});
  setInterval(refreshWhenQuiet, 1000);
}

function receive(event) {
  if (!event || typeof event.call_id !== "string" || typeof event.sequence !== "number") return;
  lastEventAt = Date.now();
  if (event.type === "original_chunk" || event.type === "final_chunk") {
    if (event.type === "final_chunk") {
      const labels = streaming.get(event.call_id) ?? new Map();
      labels.set(Number.isInteger(event.payload?.index) ? event.payload.index : labels.size, frameLabel(event.payload?.chunk));
      streaming.set(event.call_id, labels);
      scheduleRender();
    }
    if (!known.has(event.call_id) && !timers.has(event.call_id)) scheduleRefresh(event.call_id, 0);
    return;
  }
  wanted.set(event.call_id, Math.max(wanted.get(event.call_id) ?? -1, event.sequence));
  behind.set(event.call_id, BEHIND_RETRIES);
  scheduleRefresh(event.call_id, 0);
}

/** What a running call's stream sent the client so far, from the live chunks ("" when none). */
function streamedSoFar(callId) {
  const labels = streaming.get(callId);
  if (!labels) return "";
  return [...labels.entries()].sort((a, b) => a[0] - b[0]).map(([, label]) => label.text + label.tool).join("");
}

/** The highest sequence of `callId`'s events in `events` (-1 when none); a loop, not a spread: a
 * long stream has more events than a call may take arguments. */
function maxSequence(events, callId) {
  let max = -1;
  for (const event of events ?? []) {
    if (event.call_id === callId && event.sequence > max) max = event.sequence;
  }
  return max;
}

/** Keep `view` unless a view built from more of the call's events is already known. */
function adopt(view, sequence) {
  const current = known.get(view.call_id);
  if (current && current.sequence > sequence) return;
  known.set(view.call_id, {view, sequence});
  if ((view.summary?.outcome ?? "in_progress") !== "in_progress") streaming.delete(view.call_id);
}

async function loadTrace() {
  const result = await getJSON(url("/api/hooks/conversation/by_trace", {trace_id: traceId}));
  if (result.ok) {
    for (const view of result.body.calls ?? []) adopt(view, maxSequence(result.body.events, view.call_id));
    replaceChildren(note);
  } else if (result.status === 404) {
    if (!known.size) {
      replaceChildren(note, notice("info", "Nothing recorded for trace ", el("code", {}, traceId),
        " yet. Waiting for it: this page grows as soon as a call of the session starts."));
    }
  } else {
    replaceChildren(note, errorNotice("Could not load the session", result));
  }
  scheduleRender();
}

function scheduleRefresh(callId, delay) {
  clearTimeout(timers.get(callId));
  timers.set(callId, setTimeout(() => {
    timers.delete(callId);
    refreshCall(callId);
  }, delay));
}

async function refreshCall(callId) {
  if (inFlight.has(callId)) return scheduleRefresh(callId, BEHIND_RETRY_MS);
  inFlight.add(callId);
  try {
    const result = await getJSON(url("/api/hooks/conversation", {call_id: callId}));
    const sequence = result.ok ? maxSequence(result.body.events, callId) : -1;
    if (result.ok && result.body.call) {
      adopt(result.body.call, sequence);
      replaceChildren(note);
      scheduleRender();
    }
    // The event was published before its record was written: read again shortly.
    const retries = behind.get(callId) ?? 0;
    if (sequence < (wanted.get(callId) ?? -1) && retries > 0) {
      behind.set(callId, retries - 1);
      scheduleRefresh(callId, BEHIND_RETRY_MS);
    }
  } finally {
    inFlight.delete(callId);
  }
}

function refreshWhenQuiet() {
  if (Date.now() - lastEventAt < QUIET_REFRESH_MS) return;
  lastEventAt = Date.now();
  for (const {view} of known.values()) {
    if ((view.summary?.outcome ?? "in_progress") === "in_progress") scheduleRefresh(view.call_id, 0);
  }
}

function render() {
  const views = [...known.values()].map((entry) => entry.view);
  replaceChildren(facts, factsList(sessionFacts(views)));
  const entries = timeline(views);
  const nodes = entries.map((entry, i) => {
    // Only a call whose view or place changed is rebuilt, so open <details> survive updates.
    const live = streamedSoFar(entry.view.call_id);
    const key = `${i}:${entry.skipped}:${Boolean(entry.system)}:${Boolean(entry.tools)}:${live}:${JSON.stringify(entry.view)}`;
    const cached = rendered.get(entry.view.call_id);
    if (cached && cached.key === key) return cached.node;
    const node = callBlock(entry, i + 1, live);
    rendered.set(entry.view.call_id, {key, node});
    return node;
  });
  if (nodes.length !== calls.children.length || nodes.some((node, i) => node !== calls.children[i])) {
    replaceChildren(calls, nodes);
  }
}

function factsList(found) {
  const span = found.first !== null && found.last !== null
    ? [formatTime(found.first), " → ", formatTime(found.last), ` (${formatDuration((found.last - found.first) * 1000)})`]
    : "—";
  return el("dl", {class: "facts session-facts"},
    el("dt", {}, "calls"), el("dd", {class: "call-count"}, String(found.calls)),
    el("dt", {}, "outcomes"), el("dd", {class: "outcome-counts"},
      found.outcomes.map(({summary, count}) => el("span", {class: "outcome-count"}, outcomeBadge(summary), ` ×${count} `))),
    el("dt", {}, "time"), el("dd", {class: "time-span"}, span),
    el("dt", {}, "models"), el("dd", {class: "models"}, found.models.join(", ") || "—"));
}

function callBlock(entry, number, live) {
  const {view} = entry;
  const summary = view.summary ?? {};
  const outcome = summary.outcome ?? "in_progress";
  return el("li", {class: "session-call", dataset: {callId: view.call_id, outcome}},
    el("div", {class: "session-call-head"},
      el("a", {href: url("/ui/conversation", {call_id: view.call_id}), class: "call-link", title: view.call_id},
        `Call ${number}`),
      el("span", {class: "muted"}, formatTime(summary.started_at ?? view.started_at)),
      outcomeBadge(summary),
      el("span", {class: "muted"}, summary.model ?? view.model ?? ""),
      summary.latency_ms !== null && summary.latency_ms !== undefined
        ? el("span", {class: "muted"}, formatDuration(summary.latency_ms)) : null,
      summary.decision ? el("span", {class: "decision-words"}, summary.decision) : null),
    entry.system ? el("details", {class: "session-system"}, el("summary", {}, "system prompt"), renderParts(entry.system)) : null,
    entry.tools ? el("div", {class: "session-tools"}, renderTools(entry.tools)) : null,
    entry.requestChanged ? el("p", {class: "session-note"}, "The policy changed this request before it reached the model; ",
      el("a", {href: url("/ui/conversation", {call_id: view.call_id})}, "the call view"), " shows both.") : null,
    el("ol", {class: "session-turns"}, entry.turns.map((turn) => turnItem(turn, "request"))),
    answer(entry, outcome, live),
    decisions(view.decisions ?? []));
}

/** The call's decisions after what they judged: those that changed what the client got in full,
 * the others (allowed, judged) one click away. */
function decisions(list) {
  if (!list.length) return null;
  const verdicts = list.filter(isBlockingDecision);
  const others = list.filter((d) => !isBlockingDecision(d));
  const actions = [...new Set(others.map((d) => String(d.action ?? "decision").replace(/_/g, " ")))];
  return el("div", {class: "session-decisions"}, verdicts.map(renderDecision),
    others.length ? el("details", {class: "session-other-decisions"},
      el("summary", {}, `${others.length} ${verdicts.length ? "more " : ""}decision${others.length === 1 ? "" : "s"}: ${actions.join(", ")}`),
      others.map(renderDecision)) : null);
}

function turnItem(turn, source) {
  return el("li", {class: "session-turn", dataset: {role: turn.role ?? "", source}}, renderMessage(turn));
}

/** What the call answered: the reply, or what the model proposed beside what the client got; a
 * running call says so and shows what its stream sent so far (`live`). */
function answer(entry, outcome, live) {
  const {view, proposed, delivered} = entry;
  const running = outcome === "in_progress"
    ? el("p", {class: "session-pending waiting muted"}, view.streamed || live ? "streaming…" : "in progress…") : null;
  if (running && live) return [running, el("pre", {class: "session-streaming"}, live)];
  if (entry.changed) {
    return [running, el("div", {class: "session-change columns"},
      el("div", {class: "column", dataset: {side: "original"}}, el("h4", {}, "proposed by the model"),
        renderParts(proposed.parts)),
      el("div", {class: "column", dataset: {side: "final"}}, el("h4", {}, "sent to the client"),
        renderParts(delivered.parts)))];
  }
  if (delivered) return [running, el("ol", {class: "session-turns"}, turnItem(delivered, "response"))];
  if (running) return running;
  const error = view.summary?.error ?? view.error;
  return error ? el("p", {class: "session-error"}, error) : el("p", {class: "muted"}, "No readable response was recorded.");
}
