// Shared helpers for the UI pages. Data never goes through innerHTML: every node is built with
// createElement and every piece of text is set with textContent, so model output stays text.

/** Build an element: el("a", {href: "/x", class: "c"}, "text", childNode). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

/** Append children (nodes, strings, numbers, nested arrays; null/undefined skipped). */
export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace all children of `node`. */
export function replaceChildren(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** A GET that resolves to {ok, status, body}; network errors become status 0 with a message. */
export function getJSON(url) {
  return requestJSON(url, {headers: {accept: "application/json"}, cache: "no-store"});
}

/** The message of a failed getJSON result. */
export function errorText(result) {
  const detail = result.body && result.body.detail;
  const text = typeof detail === "string" ? detail : JSON.stringify(detail);
  return result.status ? `HTTP ${result.status}: ${text}` : text;
}

/** An error notice for a failed getJSON; a 401 (no or expired session) links to the login form. */
export function errorNotice(what, result) {
  if (result.status === 401) {
    const next = location.pathname + location.search;
    return notice("error", `${what}: this control plane requires the admin key. `,
      el("a", {href: url("/login", {next}), class: "login-link"}, "Log in"), " and come back.");
  }
  return notice("error", `${what}: ${errorText(result)}`);
}

/** A query-string parameter of the current page, trimmed; null when missing or empty. */
export function param(name) {
  const value = new URLSearchParams(location.search).get(name);
  return value && value.trim() ? value.trim() : null;
}

/** A URL with query parameters, values encoded. */
export function url(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null) query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** A Date from an ISO string or unix seconds; null when absent or unparsable. */
export function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A compact local time: "14:03:07.123", with the date when it is not today. */
export function formatTime(value) {
  const date = toDate(value);
  if (!date) return "—";
  const pad = (n, width = 2) => String(n).padStart(width, "0");
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
    + `.${pad(date.getMilliseconds(), 3)}`;
  const today = new Date();
  if (date.toDateString() === today.toDateString()) return time;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}`;
}

/** A duration in ms as "850 ms" or "2.41 s". */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

const STATUS_KINDS = {
  pending: "neutral",
  started: "neutral",
  in_progress: "progress",
  completed: "neutral",
  streaming: "live",
  success: "ok",
  rejected: "blocked",
  blocked: "blocked",
};

/** A status badge; the class says how alarming the status is, the text says what it is. */
export function statusBadge(status) {
  const text = status || "unknown";
  const kind = STATUS_KINDS[text] || "bad";
  return el("span", {class: `badge badge-${kind}`, "data-status": text, title: `status: ${text}`},
    text.replace(/_/g, " "));
}

// How alarming each outcome (pipeline/call_summary.py OUTCOMES) is; the words come from the API.
const OUTCOME_KINDS = {
  in_progress: "live",
  passed: "ok",
  modified: "changed",
  blocked: "blocked",
  deferred: "changed",
  resampled: "changed",
  edited: "changed",
  held: "progress",
  rejected: "blocked",
};

/** A call's outcome badge: `summary` is a call summary (`/api/calls`, a call view's `summary`),
 * whose `outcome_label` is the one wording the API, the index and the call view share. */
export function outcomeBadge(summary) {
  const outcome = summary.outcome || "in_progress";
  const label = summary.outcome_label || outcome.replace(/_/g, " ");
  return el("span", {class: `badge badge-${OUTCOME_KINDS[outcome] || "bad"} outcome`,
    "data-outcome": outcome, title: `outcome: ${label}`}, label);
}

/** A plain badge with a label. */
export function badge(text, kind = "neutral", title = undefined) {
  return el("span", {class: `badge badge-${kind}`, title}, text);
}

/** The header every page shares: product name and navigation, the current page marked. */
export function header(current) {
  const link = (href, text, key) => el("a", {href, class: key === current ? "current" : undefined}, text);
  return el("header", {class: "site"},
    el("a", {href: "/ui", class: "brand"}, "Luthien"),
    el("nav", {}, link("/ui", "Calls", "index"), auditsLink(link("/ui/audits", "Audits", "audits")),
      link("/debug", "Debug records", "debug")));
}

/** A notice box: kind is "info", "warn" or "error". */
export function notice(kind, ...children) {
  return el("div", {class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status"}, ...children);
}

/** Pretty-printed JSON as a <pre>. */
export function jsonBlock(value, attrs = {}) {
  return el("pre", {class: "json", ...attrs}, JSON.stringify(value, null, 2));
}

/** Mount a page: header plus a <main>, returned for the page to fill. */
export function mountPage(current) {
  const main = el("main", {id: "main"});
  document.body.replaceChildren(header(current), main);
  return main;
}

// ---- Requests with a body, and the audit queue's count in the header (audits.js) ----

/** A fetch whose answer is read as JSON: {ok, status, body}; network errors become status 0. */
async function requestJSON(address, init) {
  let response;
  try {
    response = await fetch(address, init);
  } catch (error) {
    return {ok: false, status: 0, body: {detail: `cannot reach the control plane (${error.message})`}};
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = {detail: `${response.status} ${response.statusText}`};
  }
  return {ok: response.ok, status: response.status, body};
}

/** A JSON POST (the admin session cookie goes along, as with getJSON): {ok, status, body}. */
export function postJSON(address, value) {
  return requestJSON(address, {method: "POST", cache: "no-store", body: JSON.stringify(value),
    headers: {accept: "application/json", "content-type": "application/json"}});
}

/** How many pending items the header shows at most before "+". */
const AUDIT_COUNT_LIMIT = 100;

/** The header's Audits link with a count of the items waiting for a decision (read once per page;
 * the audit queue's page keeps it live with setAuditCount). */
function auditsLink(link) {
  const count = el("span", {class: "nav-count", id: "nav-audit-count", hidden: true});
  link.append(count);
  getJSON(url("/api/audits", {status: "pending", limit: AUDIT_COUNT_LIMIT})).then((result) => {
    if (result.ok && Array.isArray(result.body?.items)) {
      const items = result.body.items.length;
      setAuditCount(items >= AUDIT_COUNT_LIMIT ? `${AUDIT_COUNT_LIMIT}+` : items);
    }
  });
  return link;
}

/** Show `count` pending audit items in the header (hidden at 0). */
export function setAuditCount(count) {
  const badgeNode = document.getElementById("nav-audit-count");
  if (!badgeNode) return;
  badgeNode.textContent = String(count);
  badgeNode.hidden = !count;
  badgeNode.title = `${count} waiting for a decision`;
}
