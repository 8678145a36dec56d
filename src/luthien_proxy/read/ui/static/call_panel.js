// Renders one call's state as a panel: status, request messages, response original vs final
// with the word diff, the chunks as they streamed, and the policy's decisions.

import {contentText, isBlocking, isTerminal, modifiedByPolicy, responseTexts} from "/ui/static/calls.js";
import {badge, callLinks, el, formatDuration, formatTime, jsonBlock, statusBadge, toDate, url} from "/ui/static/common.js";
import {diffWords} from "/ui/static/diff.js";

/** The panel for a call state; `standalone` hides the link to the call's own page. */
export function callPanel(call, {standalone = false} = {}) {
  const texts = responseTexts(call);
  return el("section", {class: "call", dataset: {callId: call.call_id, status: call.status}},
    callHead(call, standalone),
    blockedBanner(call),
    errorBanner(call),
    el("h3", {}, "Request messages"),
    requestColumns(call),
    el("h3", {}, "Response"),
    responseColumns(call, texts),
    call.streamed ? chunkSection(call) : null,
    decisionsSection(call));
}

function callHead(call, standalone) {
  const started = toDate(call.started_at);
  const completed = toDate(call.completed_at);
  const duration = started && completed ? formatDuration(completed - started) : null;
  return el("div", {class: "call-head"},
    el("h2", {}, "Call ", el("code", {class: "call-id"}, call.call_id)),
    el("div", {class: "badges"},
      statusBadge(call.status),
      call.streamed ? badge("streamed", "neutral") : null,
      modifiedByPolicy(call) ? badge("modified by policy", "changed", "the policy changed the request or response") : null),
    el("dl", {class: "facts"},
      fact("model", call.model || "—"),
      fact("started", formatTime(call.started_at)),
      duration ? fact("took", duration) : null,
      call.trace_id ? fact("trace", el("a", {href: url("/ui/conversation/by_trace", {trace_id: call.trace_id})},
        call.trace_id)) : null),
    el("div", {class: "call-links"}, standalone
      ? el("a", {href: url("/ui/hooks/trace", {call_id: call.call_id}), class: "link-hooks"}, "hook records")
      : callLinks(call.call_id)));
}

function fact(name, value) {
  return [el("dt", {}, name), el("dd", {}, value)];
}

function blockedBanner(call) {
  const decision = call.decisions.find(isBlocking);
  if (!decision && call.status !== "rejected") return null;
  const code = decision?.status_code ? ` (HTTP ${decision.status_code})` : "";
  return el("div", {class: "banner banner-blocked", role: "alert"},
    el("strong", {}, `Blocked by policy${code}`),
    decision?.message ? [": ", el("span", {class: "banner-message"}, decision.message)] : null);
}

function errorBanner(call) {
  if (!call.error && !(isTerminal(call.status) && !["success", "rejected"].includes(call.status))) return null;
  return el("div", {class: "banner banner-error", role: "alert"},
    el("strong", {}, `Call ended with ${call.status}`),
    call.error ? [": ", el("span", {class: "banner-message"}, formatError(call.error))] : null);
}

function formatError(error) {
  return typeof error === "string" ? error : JSON.stringify(error);
}

function requestColumns(call) {
  const {original, final} = call.request;
  if (original === null && final === null) {
    return el("p", {class: "muted"}, call.status === "rejected"
      ? "The policy blocked the request before it reached the model."
      : "No request recorded for this call yet.");
  }
  const same = JSON.stringify(original) === JSON.stringify(final);
  return el("div", {class: "columns request"},
    column("Original request", messageList(original, final, "original"), "original"),
    column(same ? "Sent upstream (unchanged)" : "Sent upstream (changed by policy)",
      messageList(final, original, "final"), "final"));
}

function messageList(messages, other, side) {
  if (!Array.isArray(messages)) return el("p", {class: "muted"}, "—");
  return el("ol", {class: "messages"}, messages.map((message, i) => {
    const changed = JSON.stringify(message) !== JSON.stringify(other?.[i]);
    return el("li", {class: changed ? `message changed changed-${side}` : "message"},
      el("span", {class: "role"}, message?.role ?? "?"),
      el("div", {class: "content"}, contentText(message?.content)));
  }));
}

function responseColumns(call, texts) {
  const rejected = call.status === "rejected";
  const complete = isTerminal(call.status);
  const showDiff = complete && texts.original !== null && texts.final !== null;
  const ops = showDiff ? diffWords(texts.original, texts.final) : null;
  const finalBody = rejected && texts.final === null
    ? el("p", {class: "blocked-note"}, "Nothing was sent to the client: the policy blocked this call.")
    : responseBody(texts.final, ops, "final", complete);
  return el("div", {class: "columns response"},
    column("Original (from the model)", responseBody(texts.original, ops, "original", complete), "original"),
    column("Final (sent to the client)", finalBody, "final"),
    showDiff && texts.original !== texts.final
      ? el("p", {class: "legend"}, el("del", {class: "diff-del"}, "removed"), " ",
        el("ins", {class: "diff-ins"}, "added"), " by the policy")
      : null,
    !complete && (texts.original !== null || texts.final !== null)
      ? el("p", {class: "legend muted"}, "Differences are highlighted when the call completes.")
      : null);
}

function responseBody(text, ops, side, complete) {
  if (text === null) {
    return el("p", {class: "muted waiting"}, complete ? "No response." : "Waiting for the response…");
  }
  const body = el("div", {class: "response-text", dataset: {side}});
  if (!ops) {
    body.textContent = text;
    return body;
  }
  for (const {op, text: piece} of ops) {
    if (op === "equal") body.append(document.createTextNode(piece));
    else if (op === "delete" && side === "original") body.append(el("del", {class: "diff-del"}, piece));
    else if (op === "insert" && side === "final") body.append(el("ins", {class: "diff-ins"}, piece));
  }
  return body;
}

function chunkSection(call) {
  const received = call.chunks.original.filter((c) => c !== undefined).length;
  const sent = call.chunks.final.filter((c) => c !== undefined).length;
  return [
    el("h3", {}, "Chunks ", el("span", {class: "count"}, `${received} received · ${sent} sent`)),
    el("div", {class: "columns chunks"},
      column("From the model", chunkList(call.chunks.original, "original"), "original"),
      column("To the client", chunkList(call.chunks.final, "final"), "final")),
  ];
}

function chunkList(chunks, side) {
  const list = el("div", {class: "chunk-list", dataset: {side}});
  chunks.forEach((text, index) => {
    if (text === undefined) return;
    list.append(el("span", {class: "chunk", title: `chunk ${index}`, dataset: {index}}, text === "" ? "∅" : text));
  });
  if (!list.childNodes.length) list.append(el("span", {class: "muted"}, "none yet"));
  return list;
}

function decisionsSection(call) {
  if (!call.decisions.length) return null;
  return [
    el("h3", {}, "Policy decisions"),
    el("ul", {class: "decisions"}, call.decisions.map((decision) =>
      el("li", {class: isBlocking(decision) ? "decision blocking" : "decision"},
        badge(decision.action || "decision", isBlocking(decision) ? "blocked" : "neutral"),
        decision.message ? [" ", el("span", {}, decision.message)] : null,
        el("details", {}, el("summary", {}, "details"), jsonBlock(decision))))),
  ];
}

function column(title, body, side) {
  return el("div", {class: `column column-${side}`}, el("h4", {}, title), body);
}
