// /ui: the recent calls and traces, newest first, each linking to its live view and hook records.

import {
  el, errorNotice, formatTime, getJSON, mountPage, replaceChildren, statusBadge, url,
} from "/ui/static/common.js";

const LIMIT = 50;
const main = mountPage("index");
const content = el("div", {id: "content"}, el("p", {class: "muted"}, "Loading…"));
const refreshButton = el("button", {type: "button", id: "refresh", onclick: load}, "Refresh");
replaceChildren(main,
  el("div", {class: "page-head"}, el("h1", {}, "Recent calls"), refreshButton),
  content);
load();

async function load() {
  refreshButton.disabled = true;
  const [calls, traces] = await Promise.all([
    getJSON(url("/api/hooks/recent_call_ids", {limit: LIMIT})),
    getJSON(url("/api/hooks/recent_traces", {limit: LIMIT})),
  ]);
  refreshButton.disabled = false;
  replaceChildren(content,
    el("p", {class: "muted"}, `Updated ${formatTime(Date.now() / 1000)}.`),
    calls.ok ? callsSection(calls.body.calls ?? []) : errorNotice("Could not load calls", calls),
    el("h2", {}, "Recent traces"),
    traces.ok ? tracesSection(traces.body.traces ?? []) : errorNotice("Could not load traces", traces));
}

function callsSection(calls) {
  if (!calls.length) return emptyState();
  return el("table", {id: "calls-table", class: "data"},
    el("thead", {}, el("tr", {}, ["Call", "Status", "Trace", "Events", "First", "Latest", ""].map(
      (name) => el("th", {}, name)))),
    el("tbody", {}, calls.map((call) => el("tr", {dataset: {callId: call.call_id}},
      el("td", {}, el("a", {href: url("/ui/conversation", {call_id: call.call_id}), class: "call-link"},
        el("code", {}, call.call_id))),
      el("td", {}, statusBadge(call.status)),
      el("td", {}, call.trace_id ? traceLink(call.trace_id) : el("span", {class: "muted"}, "—")),
      el("td", {class: "num"}, String(call.event_count ?? "—")),
      el("td", {}, formatTime(call.first)),
      el("td", {}, formatTime(call.latest)),
      el("td", {}, el("a", {href: url("/ui/hooks/trace", {call_id: call.call_id}), class: "link-hooks"},
        "hook records"))))));
}

function tracesSection(traces) {
  if (!traces.length) return el("p", {id: "empty-traces", class: "muted"}, "No traces recorded yet.");
  return el("table", {id: "traces-table", class: "data"},
    el("thead", {}, el("tr", {}, ["Trace", "Calls", "Events", "Latest"].map((name) => el("th", {}, name)))),
    el("tbody", {}, traces.map((trace) => el("tr", {dataset: {traceId: trace.trace_id}},
      el("td", {}, traceLink(trace.trace_id)),
      el("td", {class: "num"}, String(trace.call_count ?? "—")),
      el("td", {class: "num"}, String(trace.event_count ?? "—")),
      el("td", {}, formatTime(trace.latest))))));
}

function traceLink(traceId) {
  return el("a", {href: url("/ui/conversation/by_trace", {trace_id: traceId}), class: "trace-link"},
    el("code", {}, traceId));
}

function emptyState() {
  const example = [
    `curl -s -X POST ${location.origin}/api/hooks/async_post_call_success_hook \\`,
    "  -H 'content-type: application/json' \\",
    `  -d '{"data": {"litellm_call_id": "call-1"}, "response": {"choices": [{"index": 0,`,
    `       "message": {"role": "assistant", "content": "hello"}}]}}'`,
  ].join("\n");
  return el("div", {id: "empty-calls", class: "empty"},
    el("p", {}, el("strong", {}, "No calls recorded yet."),
      " Send a request through the Luthien proxy (any OpenAI-compatible client pointed at it), ",
      "or post a hook call to this control plane directly, then press Refresh:"),
    el("pre", {class: "command"}, example));
}
