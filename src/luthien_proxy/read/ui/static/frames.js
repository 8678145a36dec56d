// What one recorded stream frame carries, for the chunks list: its text (as the dialect's
// `frame_text` reads it: answer and reasoning deltas), else the piece of a tool call it carries,
// else what kind of frame it is. The live view gets raw frames over SSE, so this reads the three
// dialects' frames in the browser; the assembled response comes from the server (view.neutral).

function str(value) {
  return typeof value === "string" ? value : "";
}

function contentText(value) {
  if (typeof value === "string") return value;
  if (!Array.isArray(value)) return "";
  return value.map((part) => (typeof part === "string" ? part : str(part?.text))).join("");
}

/** A tool call's opening: "Bash(" and whatever arguments came with it. */
function callPiece(name, args) {
  return `${str(name)}(${str(args)}`;
}

function chatLabel(chunk) {
  const label = {text: "", tool: "", meta: ""};
  const metas = [];
  for (const choice of chunk.choices) {
    const delta = choice?.delta ?? {};
    label.text += ["reasoning_content", "reasoning", "content", "refusal"].map((k) => contentText(delta[k])).join("");
    for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
      const fn = call?.function ?? call?.custom ?? {};
      label.tool += fn.name ? callPiece(fn.name, fn.arguments ?? fn.input) : str(fn.arguments ?? fn.input);
    }
    if (delta.function_call) label.tool += callPiece(delta.function_call.name, delta.function_call.arguments);
    if (choice?.finish_reason) metas.push(`finish: ${choice.finish_reason}`);
    else if (delta.role) metas.push(`role: ${delta.role}`);
  }
  if (!metas.length && chunk.usage) metas.push("usage");
  label.meta = metas.join(", ") || "empty";
  return label;
}

function anthropicLabel(chunk) {
  const delta = chunk.delta ?? {};
  const block = chunk.content_block ?? {};
  if (chunk.type === "content_block_delta") {
    if (delta.type === "input_json_delta") return {text: "", tool: str(delta.partial_json), meta: ""};
    const text = str(delta.text) || str(delta.thinking);
    if (text) return {text, tool: "", meta: ""};
  }
  if (chunk.type === "content_block_start" && ["tool_use", "server_tool_use"].includes(block.type)) {
    const input = block.input && Object.keys(block.input).length ? JSON.stringify(block.input) : "";
    return {text: "", tool: callPiece(block.name, input), meta: ""};
  }
  if (chunk.type === "message_delta" && delta.stop_reason) return {text: "", tool: "", meta: `stop: ${delta.stop_reason}`};
  return {text: "", tool: "", meta: chunk.type};
}

const RESPONSES_TEXT = new Set([
  "response.output_text.delta", "response.refusal.delta",
  "response.reasoning_summary_text.delta", "response.reasoning_text.delta",
]);
const RESPONSES_CALL = new Set(["response.function_call_arguments.delta", "response.custom_tool_call_input.delta"]);

function responsesLabel(chunk) {
  if (RESPONSES_TEXT.has(chunk.type)) return {text: str(chunk.delta), tool: "", meta: ""};
  if (RESPONSES_CALL.has(chunk.type)) return {text: "", tool: str(chunk.delta), meta: ""};
  const item = chunk.item ?? {};
  if (chunk.type === "response.output_item.added" && ["function_call", "custom_tool_call"].includes(item.type)) {
    return {text: "", tool: callPiece(item.name, item.arguments ?? item.input), meta: ""};
  }
  return {text: "", tool: "", meta: chunk.type.replace(/^response\./, "")};
}

/** {text, tool, meta} of one frame of any dialect: exactly one is what the chunk shows. */
export function frameLabel(chunk) {
  if (!chunk || typeof chunk !== "object") return {text: "", tool: "", meta: "unreadable"};
  if (Array.isArray(chunk.choices)) return chatLabel(chunk);
  if (typeof chunk.type === "string") {
    return chunk.type.startsWith("response.") ? responsesLabel(chunk) : anthropicLabel(chunk);
  }
  return {text: "", tool: "", meta: "frame"};
}
