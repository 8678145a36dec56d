// The live view's model: a call's state built from the snapshot's CallView plus the events that
// arrived after it. Pure functions, no DOM, so the merge rules live in one place.

import {frameLabel} from "/ui/static/frames.js";

const TERMINAL = new Set([
  "success", "failure", "rejected", "error", "upstream_error", "timeout", "disconnected", "protocol_error",
]);

/** Whether a status means the call is over. */
export function isTerminal(status) {
  return TERMINAL.has(status);
}

/** A call nobody has reported anything about yet. */
export function emptyCall(callId, traceId = null) {
  return {
    call_id: callId,
    trace_id: traceId,
    status: "pending",
    streamed: false,
    model: null,
    started_at: null,
    completed_at: null,
    request: {original: null, final: null},
    response: {original: null, final: null},
    // Each chunk as frames.js labels it: {text, tool, meta}.
    chunks: {original: [], final: []},
    decisions: [],
    error: null,
    counts: null,
    // From the snapshot only (the server folds them): the neutral rendering and the summary.
    dialect: null,
    neutral: null,
    summary: null,
  };
}

/** A call state from the API's CallView (copied: later events mutate the state, not the view). */
export function fromView(view) {
  const call = emptyCall(view.call_id, view.trace_id ?? null);
  call.status = view.status || "pending";
  call.streamed = Boolean(view.streamed);
  call.model = view.model ?? null;
  call.started_at = view.started_at ?? null;
  call.completed_at = view.completed_at ?? null;
  call.request = {original: messagesOrNull(view.request?.original), final: messagesOrNull(view.request?.final)};
  // The view fills unknown texts with "": while a call runs its text comes from the chunks, and a
  // blocked or failed call's "" means there was no response at all.
  const text = (value) => isTerminal(call.status) && typeof value === "string"
    && (value !== "" || call.status === "success") ? value : null;
  call.response = {original: text(view.response?.original), final: text(view.response?.final)};
  // The view has only each chunk's text; `CallRecord.state` relabels them from the raw frames.
  const label = (text) => ({text: String(text ?? ""), tool: "", meta: text ? "" : "no text"});
  call.chunks = {original: (view.chunks?.original ?? []).map(label), final: (view.chunks?.final ?? []).map(label)};
  call.decisions = [...(view.decisions ?? [])];
  call.error = view.error ?? null;
  call.dialect = view.dialect ?? null;
  call.neutral = view.neutral ?? null;
  call.summary = view.summary ?? null;
  return call;
}

/** The text of a message content: a string, or the text parts of a content-part array. */
export function contentText(content) {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((part) => (typeof part === "string" ? part : part?.text ?? "")).join("");
  }
  return JSON.stringify(content);
}

/** The assistant text of a chat.completion (choices joined by blank lines). */
export function completionText(completion) {
  if (completion === null || completion === undefined) return null;
  if (typeof completion === "string") return completion;
  const choices = completion.choices;
  if (!Array.isArray(choices)) return null;
  return choices.map((choice) => contentText(choice?.message?.content ?? choice?.text)).join("\n\n");
}

/** A message list, or null when there is none (the view reports an unknown request as []). */
function messagesOrNull(value) {
  return Array.isArray(value) && value.length ? value : null;
}

/** The messages of a request (the request dict, or already a message list). */
function requestMessages(request) {
  if (request === null || request === undefined) return null;
  return messagesOrNull(Array.isArray(request) ? request : request.messages);
}

/** Apply one event to a call state in place. */
export function applyEvent(call, event) {
  const payload = event.payload || {};
  if (!call.trace_id && event.trace_id) call.trace_id = event.trace_id;
  if (call.started_at === null) call.started_at = event.timestamp ?? null;
  switch (event.type) {
    case "request_started": {
      call.request = {
        original: requestMessages(payload.original),
        final: requestMessages(payload.final ?? payload.original),
      };
      call.model = payload.final?.model ?? payload.original?.model ?? call.model;
      if (call.status === "pending") call.status = "started";
      break;
    }
    case "original_chunk":
    case "final_chunk": {
      const side = event.type === "original_chunk" ? "original" : "final";
      const index = Number.isInteger(payload.index) ? payload.index : call.chunks[side].length;
      call.chunks[side][index] = frameLabel(payload.chunk);
      call.streamed = true;
      if (!isTerminal(call.status)) call.status = "streaming";
      if (!call.model && payload.chunk?.model) call.model = payload.chunk.model;
      break;
    }
    case "request_completed":
      applyCompletion(call, payload, event.timestamp);
      break;
    case "policy_decision": {
      call.decisions.push(payload);
      // A rejection ends the call; a blocked tool call does not (the client gets text instead).
      if (payload?.action === "reject" && !isTerminal(call.status)) call.status = "rejected";
      break;
    }
    default:
      break;
  }
  return call;
}

function applyCompletion(call, payload, timestamp) {
  call.completed_at = timestamp ?? call.completed_at;
  call.status = payload.status || "success";
  if (payload.error !== undefined && payload.error !== null) call.error = payload.error;
  if (payload.streamed) {
    call.streamed = true;
    call.response = {
      original: payload.original_text ?? chunksText(call.chunks.original),
      final: payload.final_text ?? chunksText(call.chunks.final),
    };
    call.counts = {received: payload.chunks_received ?? null, sent: payload.chunks_sent ?? null};
  } else if (payload.original !== undefined || payload.final !== undefined) {
    call.response = {original: completionText(payload.original), final: completionText(payload.final)};
  }
  if (payload.status === "rejected" && !call.decisions.some((decision) => decision?.action === "reject")) {
    call.decisions.push({action: payload.action || "reject", message: payload.message, status_code: payload.status_code});
  }
}

/** The text of labelled chunks, in order (holes and tool-call pieces left out). */
export function chunksText(chunks) {
  return chunks.map((chunk) => chunk?.text ?? "").join("");
}

/** The response texts to show: the final summary when there is one, else the chunks so far. */
export function responseTexts(call) {
  return {
    original: call.response.original ?? (call.chunks.original.length ? chunksText(call.chunks.original) : null),
    final: call.response.final ?? (call.chunks.final.length ? chunksText(call.chunks.final) : null),
  };
}

/**
 * One call's knowledge: the latest snapshot (CallView and the sequences it covers) and every event
 * received live. The state is rebuilt from both, so a newer snapshot can replace an older one.
 */
export class CallRecord {
  constructor(callId) {
    this.callId = callId;
    this.view = null;
    this.viewEvents = [];
    this.viewSequences = new Set();
    this.live = new Map();
  }

  /** Adopt a snapshot: its CallView and the events it was built from. */
  setSnapshot(view, events) {
    this.view = view;
    this.viewEvents = events;
    this.viewSequences = new Set(events.map((event) => event.sequence));
  }

  /** Remember a live event; false when it was already known. */
  addEvent(event) {
    if (this.live.has(event.sequence) || this.viewSequences.has(event.sequence)) return false;
    this.live.set(event.sequence, event);
    return true;
  }

  /** The highest sequence known from either source, -1 when none. */
  maxSequence() {
    let max = -1;
    for (const sequence of this.viewSequences) max = Math.max(max, sequence);
    for (const sequence of this.live.keys()) max = Math.max(max, sequence);
    return max;
  }

  /** Whether the live events have finished the call but the snapshot (its summary and neutral
   * rendering) has not caught up yet: the page should read it again. */
  stale() {
    return isTerminal(this.state().status) && !(this.view && isTerminal(this.view.status));
  }

  /** The call's current state. */
  state() {
    const call = this.view ? fromView(this.view) : emptyCall(this.callId);
    for (const event of this.viewEvents) {
      // The CallView leaves out a failure's message; its completion event has it.
      if (event.type === "request_completed" && event.payload?.error) call.error = event.payload.error;
      // And it keeps only each chunk's text: the raw frame also says what else it carried.
      if ((event.type === "original_chunk" || event.type === "final_chunk") && Number.isInteger(event.payload?.index)) {
        const side = event.type === "original_chunk" ? "original" : "final";
        call.chunks[side][event.payload.index] = frameLabel(event.payload.chunk);
      }
    }
    const pending = [...this.live.values()]
      .filter((event) => !this.viewSequences.has(event.sequence))
      .sort((a, b) => a.sequence - b.sequence);
    for (const event of pending) applyEvent(call, event);
    return call;
  }
}
