// Rows of the calls index: one call summary (`/api/calls`, `/api/calls/stream`) as a table row, and
// the recent sessions as a table. Every text goes in through el(), so model output stays text.

import {el, formatDuration, formatTime, outcomeBadge, url} from "/ui/static/common.js";

const PREVIEW_CHARS = 80;
const TRACE_CHARS = 24;
const DOORS = {litellm: "LiteLLM", native: "native"};
const DIALECTS = {openai_chat: "OpenAI chat", anthropic_messages: "Anthropic", openai_responses: "OpenAI Responses"};

/** The headings of `callRow`'s cells. */
export const CALL_COLUMNS = ["Time", "Door", "Model", "Key", "Policy", "Session", "Outcome", "Decision", "Latency",
  "Request → response"];

/** A call summary as a row of the calls table (`tr[data-call-id]`). */
export function callRow(call) {
  const running = call.outcome === "in_progress";
  return el("tr", {dataset: {callId: call.call_id, outcome: call.outcome}, class: running ? "running" : undefined},
    el("td", {class: "time"}, el("a", {href: url("/ui/conversation", {call_id: call.call_id}), class: "call-link",
      title: `call ${call.call_id}`}, formatTime(call.started_at ?? call.completed_at))),
    el("td", {class: "door", title: `door ${call.door}, dialect ${call.dialect}`},
      `${DOORS[call.door] ?? call.door} · ${DIALECTS[call.dialect] ?? call.dialect}`),
    el("td", {class: "model"}, call.model ? el("code", {}, call.model) : dash()),
    el("td", {class: "key"}, call.key_alias || dash()),
    el("td", {class: "policy"}, call.policy ? policyWords(call) : dash()),
    el("td", {class: "trace"}, call.trace_id ? sessionLink(call.trace_id) : dash()),
    el("td", {class: "outcome"}, outcomeBadge(call)),
    el("td", {class: "call-decision"}, decisionText(call)),
    el("td", {class: "num latency"}, running ? "…" : formatDuration(call.latency_ms)),
    el("td", {class: "preview"},
      clipped(call.request_preview, "preview-request"), el("span", {class: "arrow"}, " → "),
      running ? el("span", {class: "muted"}, "…") : clipped(call.response_preview, "preview-response")));
}

/** The policy a call ran on: its name, and the routing rule that chose it when one did; the version
 * (a hash of the policy's YAML) in the title. */
export function policyWords(call) {
  const rule = call.policy_rule && call.policy_rule !== "default" ? call.policy_rule : null;
  const title = `policy ${call.policy}, version ${call.policy_version ?? "?"}` +
    (call.policy_rule ? `, chosen by ${rule ? `rule ${rule}` : "the default"}` : "");
  return el("span", {class: "policy-name", title, dataset: {version: call.policy_version ?? "", rule: call.policy_rule ?? ""}},
    call.policy, rule ? el("span", {class: "policy-rule muted"}, ` · ${rule}`) : null,
    el("span", {class: "policy-version muted"}, ` @${call.policy_version ?? "?"}`));
}

function decisionText(call) {
  if (call.decision) return el("span", {class: "decision-text"}, call.decision);
  if (call.error) return el("span", {class: "error-text"}, call.error);
  return dash();
}

/** A preview cut to fit a table cell, the whole text in its title. */
function clipped(text, cls) {
  if (!text) return el("span", {class: `${cls} muted`}, "—");
  const short = text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text;
  return el("span", {class: cls, title: text}, short);
}

function dash() {
  return el("span", {class: "muted"}, "—");
}

function sessionLink(traceId) {
  const shown = traceId.length > TRACE_CHARS ? `${traceId.slice(0, TRACE_CHARS - 1)}…` : traceId;
  return el("a", {href: url("/ui/session", {trace_id: traceId}), class: "trace-link", title: `session ${traceId}`},
    el("code", {}, shown));
}

/** The recent sessions (`/api/hooks/recent_traces`) as a compact table. */
export function sessionsTable(traces) {
  if (!traces.length) {
    return el("p", {id: "empty-traces", class: "muted"},
      "No sessions yet: calls that carry a trace id (an agent's session) are grouped here.");
  }
  return el("table", {id: "traces-table", class: "data sessions"},
    el("thead", {}, el("tr", {}, ["Session", "Calls", "Latest"].map((name) => el("th", {}, name)))),
    el("tbody", {}, traces.map((trace) => el("tr", {dataset: {traceId: trace.trace_id}},
      el("td", {}, sessionLink(trace.trace_id)),
      el("td", {class: "num"}, String(trace.call_count ?? "—")),
      el("td", {}, formatTime(trace.latest))))));
}
