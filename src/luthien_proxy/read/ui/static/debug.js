// /debug lists debug record types with counts; /debug/{type}?page=&page_size= pages through one type.

import {
  el, errorNotice, formatTime, getJSON, jsonBlock, mountPage, notice, replaceChildren, url,
} from "/ui/static/common.js";

const PAGE_SIZES = [10, 20, 50, 100];
const main = mountPage("debug");
const debugType = typeFromPath(location.pathname);

if (debugType === null) {
  document.title = "Luthien — debug records";
  loadTypes();
} else {
  document.title = `Luthien — debug: ${debugType}`;
  loadPage(pageParams());
  window.addEventListener("popstate", () => loadPage(pageParams()));
}

function typeFromPath(path) {
  const rest = path.replace(/^\/debug\/?/, "");
  if (!rest) return null;
  try {
    return decodeURIComponent(rest);
  } catch {
    return rest;
  }
}

function pageParams() {
  const query = new URLSearchParams(location.search);
  const page = Math.max(1, Number.parseInt(query.get("page") || "1", 10) || 1);
  const size = Number.parseInt(query.get("page_size") || "20", 10);
  return {page, pageSize: Math.min(500, Math.max(1, Number.isNaN(size) ? 20 : size))};
}

async function loadTypes() {
  const head = el("h1", {}, "Debug records");
  replaceChildren(main, head, el("p", {class: "muted"}, "Loading…"));
  const result = await getJSON("/api/debug/types");
  if (!result.ok) {
    replaceChildren(main, head, errorNotice("Could not load the record types", result));
    return;
  }
  const types = result.body.types ?? [];
  if (!types.length) {
    replaceChildren(main, head, el("div", {id: "empty-types", class: "empty"},
      el("p", {}, el("strong", {}, "No debug records yet."),
        " Every hook call and streamed chunk the control plane handles is recorded here.")));
    return;
  }
  replaceChildren(main, head,
    el("p", {class: "muted"}, "Every record the control plane wrote, by type. Pick a type to browse its records."),
    el("table", {id: "types-table", class: "data"},
      el("thead", {}, el("tr", {}, ["Type", "Records", "Newest"].map((name) => el("th", {}, name)))),
      el("tbody", {}, types.map((type) => el("tr", {dataset: {type: type.debug_type_identifier}},
        el("td", {}, el("a", {href: typePath(type.debug_type_identifier), class: "type-link"},
          el("code", {}, type.debug_type_identifier))),
        el("td", {class: "num"}, String(type.count)),
        el("td", {}, formatTime(type.latest)))))));
}

function typePath(type, params = {}) {
  return url(`/debug/${encodeURIComponent(type)}`, params);
}

async function loadPage({page, pageSize}) {
  const head = el("h1", {}, "Debug records: ", el("code", {}, debugType));
  const back = el("p", {}, el("a", {href: "/debug"}, "← all types"));
  replaceChildren(main, head, back, el("p", {class: "muted"}, "Loading…"));
  const result = await getJSON(url(`/api/debug/${encodeURIComponent(debugType)}/page`, {page, page_size: pageSize}));
  if (!result.ok) {
    replaceChildren(main, head, back, errorNotice("Could not load the records", result));
    return;
  }
  const body = result.body;
  const records = body.records ?? [];
  const pages = Math.max(1, body.pages ?? 1);
  const pager = pagerBar(page, pages, pageSize, body.total ?? records.length);
  replaceChildren(main, head, back, pager,
    records.length
      ? el("ol", {id: "debug-records", class: "records"}, records.map(recordItem))
      : notice("info", body.total ? `Page ${page} is past the end: there are ${pages} pages.`
        : "No records of this type."),
    records.length > 3 ? pagerBar(page, pages, pageSize, body.total ?? records.length) : null);
}

function pagerBar(page, pages, pageSize, total) {
  const go = (target, size = pageSize) => (event) => {
    event.preventDefault();
    history.pushState(null, "", typePath(debugType, {page: target, page_size: size}));
    loadPage({page: target, pageSize: size});
  };
  const link = (target, text, cls, enabled) => enabled
    ? el("a", {href: typePath(debugType, {page: target, page_size: pageSize}), class: cls, onclick: go(target)}, text)
    : el("span", {class: `${cls} disabled`, "aria-disabled": "true"}, text);
  const sizes = el("select", {class: "page-size", "aria-label": "records per page",
    onchange: (event) => go(1, Number(event.target.value))(event)},
  [...new Set([...PAGE_SIZES, pageSize])].sort((a, b) => a - b).map((size) => el("option", {value: size, selected: size === pageSize}, `${size} per page`)));
  return el("nav", {class: "pager", "aria-label": "pages"},
    link(1, "« first", "first", page > 1),
    link(page - 1, "‹ previous", "prev", page > 1),
    el("span", {class: "page-info"}, `page ${page} of ${pages} · ${total} record${total === 1 ? "" : "s"}`),
    link(page + 1, "next ›", "next", page < pages),
    link(pages, "last »", "last", page < pages),
    sizes);
}

function recordItem(record) {
  const blob = record.jsonblob ?? {};
  const callId = blob.litellm_call_id;
  return el("li", {class: "record", dataset: {id: record.id}},
    el("div", {class: "record-head"},
      el("span", {class: "record-id"}, `#${record.id}`),
      el("span", {class: "muted"}, formatTime(record.time_created)),
      callId ? ["call ", el("a", {href: url("/ui/hooks/trace", {call_id: callId})}, el("code", {}, callId))] : null),
    jsonBlock(blob));
}
