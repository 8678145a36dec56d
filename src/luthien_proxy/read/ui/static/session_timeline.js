// The session timeline's model: a trace's call views (each with its `neutral` rendering) put in
// order, each call with only the turns it added to the conversation. Pure functions, no DOM.
//
// An agent re-sends the whole history on every call, so call k's messages start with what an
// earlier call sent plus the answer the client got. Each call continues the earlier call whose
// transcript shares the longest prefix with it (not simply the previous one: a sub-agent sharing
// the session interleaves its own conversation), and shows only what comes after that prefix.

/** A value as JSON with object keys sorted, so equal values give equal text. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/** What of a part identifies it when the history comes back: text trimmed (an empty text and
 * reasoning, which agents drop or re-sign, count for nothing). */
function partKey(part) {
  switch (part?.type) {
    case "text":
      return part.text.trim() ? ["t", part.text.trim()] : null;
    case "reasoning":
      return null;
    case "tool_call":
      return ["c", part.id ?? null, part.name ?? null, part.arguments ?? null];
    case "tool_result":
      return ["r", part.call_id ?? null, part.content ?? null, Boolean(part.is_error)];
    default:
      return ["o", part?.raw ?? part ?? null];
  }
}

/** A turn's fingerprint, for matching the history an agent re-sends. */
export function turnKey(message) {
  const parts = (message?.parts ?? []).map(partKey).filter((key) => key !== null);
  return canonical([message?.role ?? null, parts]);
}

/** The parts of a neutral response S as one assistant turn (every choice's parts); null without S. */
export function responseTurn(response) {
  if (!response || !Array.isArray(response.choices)) return null;
  return {role: "assistant", parts: response.choices.flatMap((choice) => choice.parts ?? [])};
}

/** When a call started, in unix seconds (its summary's, else the view's ISO time); null if unknown. */
export function startedAt(view) {
  if (typeof view.summary?.started_at === "number") return view.summary.started_at;
  const parsed = view.started_at ? Date.parse(view.started_at) : NaN;
  return Number.isNaN(parsed) ? null : parsed / 1000;
}

/** The views in the order their calls started; a call not started yet (or of unknown time) last. */
export function ordered(views) {
  const key = (view) => startedAt(view) ?? Number.MAX_SAFE_INTEGER;
  return views.map((view, i) => [view, i]).sort((a, b) => key(a[0]) - key(b[0]) || a[1] - b[1]).map(([v]) => v);
}

function commonPrefix(a, b) {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n += 1;
  return n;
}

/**
 * The session's calls in order, each as {view, turns (the turns it added), skipped (how many of its
 * turns an earlier call showed), system and tools (when not shown by an earlier call), proposed and
 * delivered (the response as the model gave it and as the client got it, assistant turns or null),
 * changed (they differ), requestChanged (the policy changed the request)}.
 */
export function timeline(views) {
  const transcripts = [];
  const systems = new Set();
  const toolSets = new Set();
  return ordered(views).map((view) => {
    const neutral = view.neutral ?? {};
    const request = neutral.request?.original ?? neutral.request?.final ?? null;
    const messages = request?.messages ?? [];
    const keys = messages.map(turnKey);
    const skipped = Math.max(0, ...transcripts.map((transcript) => commonPrefix(keys, transcript)));
    const proposed = responseTurn(neutral.response?.original);
    const delivered = responseTurn(neutral.response?.final) ?? proposed;
    transcripts.push(delivered ? [...keys, turnKey(delivered)] : keys);
    const system = request?.system?.length ? request.system : null;
    const systemKey = system ? canonical(system) : null;
    const tools = request?.tools?.length ? request.tools : null;
    const toolsKey = tools ? canonical(tools) : null;
    const entry = {
      view,
      turns: messages.slice(skipped),
      skipped,
      system: systemKey && !systems.has(systemKey) ? system : null,
      tools: toolsKey && !toolSets.has(toolsKey) ? tools : null,
      proposed,
      delivered,
      changed: Boolean(proposed && delivered) && turnKey(proposed) !== turnKey(delivered),
      requestChanged: Boolean(neutral.request?.original && neutral.request?.final)
        && canonical(neutral.request.original) !== canonical(neutral.request.final),
    };
    if (systemKey) systems.add(systemKey);
    if (toolsKey) toolSets.add(toolsKey);
    return entry;
  });
}

/** The session's header facts: calls, outcome counts (label → n, in first-seen order), time span
 * (unix seconds, first start to last end) and models. */
export function sessionFacts(views) {
  const outcomes = new Map();
  const models = new Set();
  let first = null;
  let last = null;
  for (const view of ordered(views)) {
    const summary = view.summary ?? {};
    const label = summary.outcome_label ?? summary.outcome ?? "in progress";
    const seen = outcomes.get(summary.outcome ?? "in_progress");
    outcomes.set(summary.outcome ?? "in_progress", {summary, label, count: (seen?.count ?? 0) + 1});
    const model = summary.model ?? view.model;
    if (model) models.add(model);
    const start = startedAt(view);
    const end = typeof summary.completed_at === "number" ? summary.completed_at : start;
    if (start !== null && (first === null || start < first)) first = start;
    if (end !== null && (last === null || end > last)) last = end;
  }
  return {calls: views.length, outcomes: [...outcomes.values()], first, last, models: [...models]};
}
