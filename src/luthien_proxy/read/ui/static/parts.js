// The neutral rendering (a call view's `neutral`, read/conversation/neutral.py) as DOM: messages of
// typed parts, tool calls with their arguments, the tools offered, and policy decisions as rows.
// Every page that shows a call's content uses these, so every door and dialect reads the same.
// All text goes through el() (textContent): model output is hostile and stays text.

import {badge, el, formatDuration, jsonBlock} from "/ui/static/common.js";

/** Decision actions that changed what the client got (a `.decision.blocking` row). */
const BLOCKING = new Set([
  "block", "reject", "defer", "defer_to_trusted", "edit", "resample", "audit_denied", "audit_edited",
]);

/** Whether a decision stopped or replaced what the model proposed; an audit that released nothing
 * (timed out to deny, failed) counts as denied, as in pipeline/call_summary.py `verdict_action`. */
export function isBlockingDecision(decision) {
  const action = String(decision?.action ?? "");
  if (action.startsWith("audit_") && decision?.released === false) return true;
  return BLOCKING.has(action);
}

/** A tool call's arguments pretty-printed: JSON indented, a free-text argument as it came. */
export function argumentsText(args) {
  if (typeof args === "string") return args;
  if (args === undefined) return "";
  return JSON.stringify(args, null, 2);
}

/** One tool call part: its name and its pretty-printed arguments. */
export function renderToolCall(part) {
  const name = String(part?.name ?? "");
  return el("div", {class: "part tool-call", dataset: {name, callId: part?.id ?? ""}},
    el("div", {class: "part-head"},
      el("span", {class: "part-kind"}, "tool call"), " ",
      el("code", {class: "tool-name"}, name || "(no name)"),
      part?.id ? el("span", {class: "call-id muted"}, ` ${part.id}`) : null),
    el("pre", {class: "tool-args"}, argumentsText(part?.arguments)));
}

function renderToolResult(part) {
  return el("div", {class: `part tool-result${part.is_error ? " tool-error" : ""}`,
    dataset: {callId: part.call_id ?? ""}},
    el("div", {class: "part-head"},
      el("span", {class: "part-kind"}, part.is_error ? "tool error" : "tool result"),
      part.call_id ? [" for ", el("code", {class: "call-id"}, part.call_id)] : null),
    el("pre", {class: "tool-output"}, String(part.content ?? "")));
}

function renderPart(part) {
  switch (part?.type) {
    case "text":
      return el("div", {class: "part part-text"}, String(part.text ?? ""));
    case "reasoning":
      return el("details", {class: "part part-reasoning"},
        el("summary", {}, "reasoning"), el("div", {class: "reasoning-text"}, String(part.text ?? "")));
    case "tool_call":
      return renderToolCall(part);
    case "tool_result":
      return renderToolResult(part);
    default: {
      const raw = part?.raw;
      const kind = raw && typeof raw === "object" && typeof raw.type === "string" ? raw.type : "content";
      return el("details", {class: "part part-other"}, el("summary", {}, `other part (${kind})`), jsonBlock(raw ?? part));
    }
  }
}

/** A list of parts; an empty list says so. */
export function renderParts(parts) {
  const list = Array.isArray(parts) ? parts : [];
  return el("div", {class: "parts"},
    list.length ? list.map(renderPart) : el("span", {class: "muted empty-parts"}, "(no content)"));
}

/** One message of a request's history: its role and its parts. */
export function renderMessage(message) {
  const role = String(message?.role || "?");
  return el("div", {class: "message", dataset: {role}},
    el("span", {class: "role"}, role),
    el("div", {class: "content"}, renderParts(message?.parts)));
}

/** The tools a request offered: a collapsed list of names, each tool's schema one click away. */
export function renderTools(tools) {
  const list = Array.isArray(tools) ? tools : [];
  if (!list.length) return el("p", {class: "muted tools-none"}, "No tools offered.");
  const names = list.map((tool) => String(tool?.name || "?"));
  return el("details", {class: "tools"},
    el("summary", {}, `${list.length} tool${list.length === 1 ? "" : "s"} offered: `,
      el("span", {class: "tool-names"}, names.join(", "))),
    el("ul", {class: "tool-list"}, list.map((tool, i) =>
      el("li", {class: "tool", dataset: {name: names[i]}},
        el("details", {},
          el("summary", {}, el("code", {}, names[i]), tool?.description ? ` — ${tool.description}` : ""),
          tool?.parameters === null || tool?.parameters === undefined
            ? el("p", {class: "muted"}, "No parameter schema.")
            : jsonBlock(tool.parameters, {class: "json tool-schema"}))))));
}

function score(value) {
  return typeof value === "number" ? value.toFixed(2) : null;
}

function parsedArguments(text) {
  if (typeof text !== "string") return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** One policy decision as a readable row (protocol, action, score against threshold, reason or
 * rule, latency, the tool call), its raw JSON one click away. */
export function renderDecision(decision) {
  const d = decision && typeof decision === "object" ? decision : {};
  const action = String(d.action || "decision");
  const blocking = isBlockingDecision(d);
  const facts = [];
  const fact = (name, value) => {
    if (value !== null && value !== undefined && value !== "") {
      facts.push(el("dt", {}, name), el("dd", {class: `fact-${name.replace(/\W+/g, "-")}`}, String(value)));
    }
  };
  fact("protocol", d.protocol);
  fact("score", score(d.score));
  fact("threshold", score(d.threshold));
  fact("rule", d.rule);
  fact("reason", d.reason);
  fact("message", d.message);
  fact("judge", d.judge_model);
  fact("latency", typeof d.latency_ms === "number" ? formatDuration(d.latency_ms) : null);
  fact("status", d.status_code ? `HTTP ${d.status_code}` : null);
  fact("error", d.judge_error || d.error);
  const call = d.tool_call && typeof d.tool_call === "object"
    ? renderToolCall({...d.tool_call, type: "tool_call", arguments: parsedArguments(d.tool_call.arguments)})
    : null;
  return el("div", {class: blocking ? "decision blocking" : "decision", dataset: {action}},
    el("div", {class: "decision-row"},
      badge(action.replace(/_/g, " "), blocking ? "blocked" : "neutral"),
      el("dl", {class: "facts decision-facts"}, facts)),
    call,
    el("details", {class: "decision-raw"}, el("summary", {}, "raw JSON"), jsonBlock(d)));
}
