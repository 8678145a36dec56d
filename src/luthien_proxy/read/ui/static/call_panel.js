// Renders one call's state as a panel: its outcome and the decision in words, the request (history
// of typed parts, system prompt and tools collapsed), the response (what the model proposed beside
// what the client got, text diffs highlighted), the chunks as they streamed, and the decisions.
// Content comes from the server's neutral rendering (view.neutral), so every dialect reads the
// same; until a live call's snapshot has it, the raw texts stand in.

import {policyWords} from "/ui/static/call_rows.js";
import {contentText, isTerminal, responseTexts} from "/ui/static/calls.js";
import {badge, el, formatDuration, formatTime, outcomeBadge, toDate, url} from "/ui/static/common.js";
import {diffWords} from "/ui/static/diff.js";
import {renderDecision, renderMessage, renderParts, renderTools} from "/ui/static/parts.js";

const DIALECTS = {openai_chat: "OpenAI chat", anthropic_messages: "Anthropic Messages", openai_responses: "OpenAI Responses"};
// Outcomes that get a banner with the decision in words, and the banner's kind.
const BANNERS = {blocked: "blocked", rejected: "blocked", deferred: "changed", resampled: "changed",
  edited: "changed", held: "changed"};

/** The panel for a call state (the live view's one call). */
export function callPanel(call) {
  const summary = currentSummary(call);
  return el("section", {class: "call", dataset: {callId: call.call_id, status: call.status, outcome: summary.outcome}},
    callHead(call, summary),
    outcomeBanner(call, summary),
    errorBanner(call),
    el("h3", {}, "Request"),
    requestSection(call),
    el("h3", {}, "Response"),
    responseSection(call),
    call.streamed ? chunkSection(call) : null,
    decisionsSection(call));
}

/** The server's summary of the call; while the snapshot lags the live events, "in progress"
 * rather than a guess (the page reads the snapshot again as soon as the call ends). */
function currentSummary(call) {
  const summary = call.summary;
  if (summary && (summary.outcome !== "in_progress" || !isTerminal(call.status))) return summary;
  const finishing = isTerminal(call.status);
  return {...(summary ?? {}), outcome: "in_progress", outcome_label: finishing ? "finishing…" : "in progress"};
}

function callHead(call, summary) {
  const started = toDate(call.started_at);
  const completed = toDate(call.completed_at);
  const took = typeof summary.latency_ms === "number"
    ? formatDuration(summary.latency_ms)
    : started && completed ? formatDuration(completed - started) : null;
  const dialect = summary.dialect ?? call.dialect;
  return el("div", {class: "call-head"},
    el("h2", {}, "Call ", el("code", {class: "call-id"}, call.call_id)),
    el("div", {class: "badges"},
      outcomeBadge(summary),
      call.streamed ? badge("streamed", "neutral") : null),
    el("dl", {class: "facts"},
      fact("model", call.model || summary.model || "—"),
      summary.door ? fact("door", summary.door) : null,
      dialect ? fact("dialect", DIALECTS[dialect] ?? dialect) : null,
      summary.key_alias ? fact("key", summary.key_alias) : null,
      summary.policy ? fact("policy", policyWords(summary)) : null,
      fact("started", formatTime(call.started_at)),
      took ? fact("took", took) : null,
      call.trace_id ? fact("trace", el("a", {href: url("/ui/session", {trace_id: call.trace_id})},
        call.trace_id)) : null),
    el("div", {class: "call-links"},
      el("a", {href: url("/ui/hooks/trace", {call_id: call.call_id}), class: "link-hooks"}, "hook records")));
}

function fact(name, value) {
  return [el("dt", {}, name), el("dd", {}, value)];
}

function outcomeBanner(call, summary) {
  const kind = BANNERS[summary.outcome];
  if (!kind) return null;
  const rejection = call.decisions.find((decision) => decision?.action === "reject");
  const code = rejection?.status_code ? ` (HTTP ${rejection.status_code})` : "";
  const words = summary.decision || rejection?.message || "";
  return el("div", {class: `banner banner-${kind}`, role: "alert"},
    el("strong", {}, `Policy decision${code}`),
    words ? [": ", el("span", {class: "banner-message decision-words"}, words)] : null);
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

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function column(title, body, side) {
  return el("div", {class: `column column-${side}`}, el("h4", {}, title), body);
}

// ---- Request ----

function requestSection(call) {
  const neutral = call.neutral?.request;
  if (neutral?.original || neutral?.final) return neutralRequest(neutral);
  const {original, final} = call.request;
  if (original === null && final === null) {
    return el("p", {class: "muted"}, call.status === "rejected"
      ? "The policy blocked the request before it reached the model."
      : "No request recorded for this call yet.");
  }
  // The neutral rendering is not here (yet, or unreadable): the raw messages' texts.
  return requestColumns(original, final, (messages, other, side) => el("ol", {class: "messages"},
    (messages ?? []).map((message, i) => el("li", {class: changedClass(message, other?.[i], side)},
      el("span", {class: "role"}, message?.role ?? "?"),
      el("div", {class: "content"}, contentText(message?.content))))));
}

function neutralRequest({original, final}) {
  const shown = final ?? original;
  return el("div", {class: "request-body"},
    shown.system?.length
      ? el("details", {class: "system-prompt"},
        el("summary", {}, `System prompt (${systemLength(shown.system)} characters)`), renderParts(shown.system))
      : null,
    renderTools(shown.tools),
    requestColumns(original?.messages ?? null, final?.messages ?? null, (messages, other, side) =>
      el("ol", {class: "messages"}, (messages ?? []).map((message, i) => {
        const node = renderMessage(message);
        for (const name of changedClass(message, other?.[i], side).split(" ")) node.classList.add(name);
        return el("li", {}, node);
      }))));
}

function systemLength(parts) {
  return parts.reduce((total, part) => total + (typeof part?.text === "string" ? part.text.length : 0), 0);
}

function changedClass(message, other, side) {
  return same(message, other) ? "message" : `message changed changed-${side}`;
}

function requestColumns(original, final, list) {
  if (same(original, final) || final === null || original === null) {
    const shown = final ?? original;
    const title = final === null ? "Request (not sent upstream)" : "Sent upstream (unchanged by the policy)";
    return el("div", {class: "columns request single"}, column(title, list(shown, shown, "final"), "final"));
  }
  return el("div", {class: "columns request"},
    column("Original request", list(original, final, "original"), "original"),
    column("Sent upstream (changed by policy)", list(final, original, "final"), "final"));
}

// ---- Response ----

function responseSection(call) {
  const neutral = call.neutral?.response;
  const texts = responseTexts(call);
  if (isTerminal(call.status) && (neutral?.original || neutral?.final)) return neutralResponse(call, neutral, texts);
  return textResponse(call, texts);
}

/** The text parts of a neutral response, choices joined as the server joins them. */
function responseText(response) {
  if (!response) return null;
  return response.choices.map((choice) => choice.parts.filter((p) => p.type === "text").map((p) => p.text).join(""))
    .filter((text) => text).join("\n");
}

function neutralResponse(call, {original, final}, texts) {
  if (original && final && same(original, final)) {
    return el("div", {class: "columns response single"},
      column("Sent to the client (unchanged by the policy)", responseBody(final, null, "final"), "final"));
  }
  const before = responseText(original);
  const after = responseText(final);
  const ops = before && after && before !== after && original.choices.length <= 1
    && final.choices.length <= 1 ? diffWords(before, after) : null;
  const side = (response, name, fallback) => response
    ? responseBody(response, ops, name)
    : fallback === null
      ? el("p", {class: call.status === "rejected" ? "blocked-note" : "muted"}, call.status === "rejected"
        ? "Nothing was sent to the client: the policy blocked this call."
        : "No response.")
      : el("div", {class: "response-text", dataset: {side: name}}, fallback);
  return el("div", {class: "columns response"},
    column("Proposed by the model", side(original, "original", texts.original), "original"),
    column("Sent to the client", side(final, "final", texts.final), "final"),
    ops ? diffLegend() : null);
}

/** One side of a neutral response: per choice its reasoning, its text (diff marked), its calls. */
function responseBody(response, ops, side) {
  const choices = response.choices;
  if (!choices.length || choices.every((choice) => !choice.parts.length)) {
    return el("p", {class: "muted empty-response"}, "(empty response)");
  }
  return el("div", {class: "response-body", dataset: {side}}, choices.map((choice) => {
    const text = choice.parts.filter((p) => p.type === "text").map((p) => p.text).join("");
    const before = choice.parts.filter((p) => p.type === "reasoning");
    const after = choice.parts.filter((p) => p.type !== "text" && p.type !== "reasoning");
    return el("div", {class: "choice", dataset: {index: choice.index}},
      choices.length > 1 ? el("h4", {}, `choice ${choice.index}`) : null,
      before.length ? renderParts(before) : null,
      text ? textBody(text, ops, side) : null,
      after.length ? renderParts(after) : null,
      choice.stop_reason ? el("p", {class: "muted stop-reason"}, `stop: ${choice.stop_reason}`) : null);
  }));
}

function diffLegend() {
  return el("p", {class: "legend"}, el("del", {class: "diff-del"}, "removed"), " ",
    el("ins", {class: "diff-ins"}, "added"), " by the policy");
}

/** The response as texts: a call still running (its chunks so far), or one whose response could
 * not be read into parts. */
function textResponse(call, texts) {
  const rejected = call.status === "rejected";
  const complete = isTerminal(call.status);
  const showDiff = complete && texts.original !== null && texts.final !== null;
  const ops = showDiff ? diffWords(texts.original, texts.final) : null;
  const finalBody = rejected && texts.final === null
    ? el("p", {class: "blocked-note"}, "Nothing was sent to the client: the policy blocked this call.")
    : textOrWaiting(texts.final, ops, "final", complete);
  return el("div", {class: "columns response"},
    column("Original (from the model)", textOrWaiting(texts.original, ops, "original", complete), "original"),
    column("Final (sent to the client)", finalBody, "final"),
    showDiff && texts.original !== texts.final ? diffLegend() : null,
    !complete && (texts.original !== null || texts.final !== null)
      ? el("p", {class: "legend muted"}, "Tool calls and differences are shown when the call completes.")
      : null);
}

function textOrWaiting(text, ops, side, complete) {
  if (text === null) {
    return el("p", {class: "muted waiting"}, complete ? "No response." : "Waiting for the response…");
  }
  return textBody(text, ops, side);
}

function textBody(text, ops, side) {
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

// ---- Chunks ----

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
  chunks.forEach((chunk, index) => {
    if (chunk === undefined) return;
    if (chunk.text) {
      list.append(el("span", {class: "chunk", title: `chunk ${index}`, dataset: {index}}, chunk.text));
    } else if (chunk.tool) {
      list.append(el("span", {class: "chunk chunk-tool", title: `chunk ${index}: part of a tool call`,
        dataset: {index}}, chunk.tool));
    } else {
      list.append(el("span", {class: "chunk chunk-meta", title: `chunk ${index}: no text`, dataset: {index}},
        chunk.meta || "no text"));
    }
  });
  if (!list.childNodes.length) list.append(el("span", {class: "muted"}, "none yet"));
  return list;
}

// ---- Decisions ----

function decisionsSection(call) {
  if (!call.decisions.length) return null;
  return [
    el("h3", {}, "Policy decisions ", el("span", {class: "count"}, String(call.decisions.length))),
    el("div", {class: "decisions"}, call.decisions.map(renderDecision)),
  ];
}
