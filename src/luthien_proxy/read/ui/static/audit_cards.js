// The audit queue's items as DOM (audits.js): a pending item with what a person needs to decide on
// it (the conversation so far, the proposed call, the monitor's score and reason, whose agent, how
// long it has waited) and its decision form; a decided item as who, when, what and why.
// Tool arguments and conversation text are model output: everything goes through el().

import {badge, el, formatTime, url} from "/ui/static/common.js";
import {argumentsText, renderToolCall} from "/ui/static/parts.js";

const STATUS_KINDS = {pending: "progress", approved: "ok", edited: "changed", denied: "blocked",
  timed_out: "bad", failed: "bad"};
const STATUS_WORDS = {pending: "pending", approved: "approved", edited: "edited and approved",
  denied: "denied", failed: "failed"};
const MAX_COMMENT_CHARS = 2000;

/** What happened to an item, in words ("timed out: denied" says what the timeout applied). */
export function statusLabel(item) {
  if (item.status === "timed_out") return `timed out: ${item.on_timeout === "approve" ? "approved" : "denied"}`;
  return STATUS_WORDS[item.status] ?? String(item.status);
}

/** Seconds as "m:ss" (or "h:mm:ss"). */
export function formatWait(seconds) {
  const total = Math.max(Math.floor(Number(seconds) || 0), 0);
  const pad = (n) => String(n).padStart(2, "0");
  const [h, m, s] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** The arguments a person typed, parsed: {value} for a JSON object, else {error}. */
export function parseArguments(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return {error: `The arguments are not valid JSON: ${error.message}`};
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return {error: "The arguments must be a JSON object, { … }."};
  }
  return {value};
}

function toolCall(item, args) {
  const call = item.tool_call ?? {};
  return renderToolCall({type: "tool_call", id: call.id, name: call.name, arguments: args});
}

function scoreBadge(item) {
  const score = Number(item.score);
  return badge(Number.isFinite(score) ? `score ${score.toFixed(2)}` : "no score", "bad", "the monitor's score");
}

function links(item) {
  return el("span", {class: "audit-links"},
    item.trace_id
      ? [el("a", {href: url("/ui/session", {trace_id: item.trace_id}), class: "session-link"}, "session"), " · "]
      : null,
    el("a", {href: url("/ui/conversation", {call_id: item.call_id}), class: "call-link"}, "call"));
}

function facts(item) {
  const fact = (name, value, cls) => el("div", {}, el("dt", {}, name), el("dd", {class: cls}, value));
  return el("dl", {class: "facts audit-facts"},
    fact("key", item.key || "—", "audit-key"),
    fact("session", item.trace_id
      ? el("a", {href: url("/ui/session", {trace_id: item.trace_id}), class: "trace-link"}, item.trace_id)
      : "none", "audit-trace"),
    fact("call", el("code", {}, item.call_id), "audit-call"),
    fact("protocol", item.protocol || "—", "audit-protocol"),
    fact("held at", formatTime(item.created_at), "audit-created"));
}

function conversation(item) {
  const turns = Array.isArray(item.conversation) ? item.conversation : [];
  if (!turns.length) return el("p", {class: "muted audit-no-conversation"}, "(no conversation before the call)");
  return el("ol", {class: "audit-conversation"}, turns.map((turn) =>
    el("li", {dataset: {role: String(turn?.role ?? "?")}},
      el("span", {class: "role"}, String(turn?.role ?? "?")),
      el("div", {class: "turn-text"}, String(turn?.text ?? "")))));
}

/** A pending item's card. `decide(item, body)` posts `body` ({decision, arguments?, comment?}) and
 * resolves to null when it was taken, or to what to show in the card (text or a node) when not. */
export function pendingCard(item, decide) {
  const comment = el("textarea", {class: "audit-comment", rows: 2, maxlength: MAX_COMMENT_CHARS,
    placeholder: "Why (optional; recorded with the decision)", "aria-label": "comment"});
  const argsBox = el("textarea", {class: "audit-args", rows: 6, spellcheck: "false",
    "aria-label": "edited arguments (JSON)"});
  argsBox.value = argumentsText(item.tool_call?.arguments);
  const error = el("div", {class: "audit-error", role: "alert", hidden: true});
  const buttons = [];
  const button = (text, cls, onclick) => {
    const node = el("button", {type: "button", class: cls, onclick}, text);
    buttons.push(node);
    return node;
  };
  const editor = el("div", {class: "audit-editor", hidden: true},
    el("label", {}, "Arguments to release instead (a JSON object):", argsBox),
    el("div", {class: "audit-buttons"},
      button("Approve edited call", "approve-edited", () => {
        const parsed = parseArguments(argsBox.value);
        if (parsed.error) return showError(parsed.error);
        return send({decision: "edit", arguments: parsed.value});
      }),
      button("Cancel", "cancel-edit", () => {
        editor.hidden = true;
        showError(null);
      })));

  function showError(message) {
    error.hidden = message === null;
    error.replaceChildren(...(message === null ? [] : [message]));
  }

  async function send(body) {
    showError(null);
    const text = comment.value.trim();
    for (const node of buttons) node.disabled = true;
    const refused = await decide(item, text ? {...body, comment: text} : body);
    for (const node of buttons) node.disabled = false;
    if (refused !== null) showError(refused);
  }

  return el("article", {class: "audit-item", id: `audit-${item.id}`, dataset: {id: item.id, status: "pending"}},
    el("div", {class: "audit-head"},
      el("code", {class: "tool-name"}, String(item.tool_call?.name ?? "(no name)")),
      scoreBadge(item),
      el("span", {class: "audit-waited", title: "how long the agent has waited"}),
      el("span", {class: "audit-deadline", title: "what happens when nobody decides"}),
      links(item)),
    facts(item),
    el("p", {class: "audit-reason"}, el("span", {class: "muted"}, "Monitor: "), String(item.reason ?? "")),
    el("div", {class: "columns audit-columns"},
      el("div", {class: "column"}, el("h4", {}, "The conversation so far"), conversation(item)),
      el("div", {class: "column audit-proposed"}, el("h4", {}, "The proposed call"),
        toolCall(item, item.tool_call?.arguments))),
    el("div", {class: "audit-decide"},
      comment,
      el("div", {class: "audit-buttons"},
        button("Approve", "approve", () => send({decision: "approve"})),
        button("Deny", "deny", () => send({decision: "deny"})),
        button("Edit and approve", "edit", () => {
          editor.hidden = false;
          argsBox.focus();
        })),
      editor,
      error));
}

/** Update a pending card's clocks: `waited` seconds so far. */
export function tickCard(card, item, waited) {
  card.querySelector(".audit-waited").textContent = `waiting ${formatWait(waited)}`;
  const left = Number(item.deadline) - Number(item.created_at) - waited;
  const fallback = item.on_timeout === "approve" ? "approves" : "denies";
  card.querySelector(".audit-deadline").textContent = left > 0
    ? `timeout ${fallback} in ${formatWait(left)}`
    : `timed out: it ${fallback}…`;
}

/** A decided item: the decision, who took it and when, why, and the call it was about. */
export function decidedRow(item) {
  const edited = item.status === "edited" && item.edited_arguments;
  const why = item.comment || item.failure;
  return el("li", {class: "audit-decided", id: `audit-${item.id}`, dataset: {id: item.id, status: item.status}},
    el("div", {class: "audit-head"},
      badge(statusLabel(item), STATUS_KINDS[item.status] ?? "bad"),
      el("code", {class: "tool-name"}, String(item.tool_call?.name ?? "(no name)")),
      el("span", {}, "by ", el("strong", {class: "audit-by"}, String(item.decided_by ?? "?"))),
      el("span", {class: "audit-when"}, formatTime(item.decided_at)),
      el("span", {class: "muted"}, `after ${formatWait(item.waited_s)}`),
      scoreBadge(item),
      links(item)),
    why ? el("p", {class: `audit-why${item.comment ? "" : " audit-failure"}`}, String(why)) : null,
    el("p", {class: "audit-reason muted"}, "Monitor: ", String(item.reason ?? "")),
    el("div", {class: "audit-calls"},
      el("div", {class: "audit-proposed"}, toolCall(item, item.tool_call?.arguments)),
      edited ? el("div", {class: "audit-released"}, el("h4", {}, "released as"), toolCall(item, item.edited_arguments))
        : null));
}


/** A session held for its summed suspicion (`audit.session`): whose, how much against what level,
 * since when, and (flagged) a "Clear session" button; `clear(session, comment)` posts the clearing
 * and resolves to null when done, else to what to show. A cleared one says who cleared it, when, why. */
export function sessionRow(session, clear) {
  const flagged = session.status === "flagged";
  const total = Number(session.total);
  const whose = session.scope === "key" ? `key ${session.key}` : `session ${session.trace_id}`;
  const comment = el("input", {type: "text", class: "session-comment", maxlength: MAX_COMMENT_CHARS,
    placeholder: "Why (optional)", "aria-label": "comment"});
  const error = el("span", {class: "audit-error", role: "alert", hidden: true});
  const button = el("button", {type: "button", class: "clear-session", onclick: async () => {
    button.disabled = true;
    const refused = await clear(session, comment.value.trim());
    button.disabled = false;
    error.hidden = refused === null;
    error.replaceChildren(...(refused === null ? [] : [refused]));
  }}, "Clear session");
  return el("li", {class: "held-session", dataset: {status: String(session.status), trace: String(session.trace_id ?? "")}},
    el("div", {class: "audit-head"},
      badge(flagged ? "held" : "cleared", flagged ? "blocked" : "ok"),
      el("a", {href: url("/ui/session", {trace_id: session.trace_id}), class: "session-link"}, whose),
      el("span", {class: "session-total"},
        `suspicion ${Number.isFinite(total) ? total.toFixed(2) : "?"} (level ${String(session.level)})`),
      el("span", {class: "muted"}, `since ${formatTime(session.since)}`)),
    flagged
      ? el("div", {class: "audit-buttons"}, comment, button, error)
      : el("p", {class: "audit-why"}, `cleared by ${String(session.cleared_by ?? "?")} at ${formatTime(session.cleared_at)}`,
        session.comment ? `: ${String(session.comment)}` : ""));
}
