// /ui/hooks/trace?call_id=: one call's hook records, oldest first, with each one's offset from the first.

import {
  el, errorNotice, formatDuration, formatTime, getJSON, jsonBlock, mountPage, notice, param, replaceChildren, url,
} from "/ui/static/common.js";

const callId = param("call_id");
const main = mountPage("trace");

if (!callId) {
  document.title = "Luthien — hook records";
  replaceChildren(main, el("h1", {}, "Hook records"),
    notice("warn", "This page needs a ", el("code", {}, "call_id"), " query parameter, e.g. ",
      el("code", {}, "/ui/hooks/trace?call_id=…"), ". Pick a call from the ",
      el("a", {href: "/ui"}, "recent calls"), "."));
} else {
  document.title = `Luthien — hook records of ${callId}`;
  load();
}

async function load() {
  const head = el("h1", {}, "Hook records of call ", el("code", {}, callId));
  replaceChildren(main, head, el("p", {class: "muted"}, "Loading…"));
  const result = await getJSON(url("/api/hooks/trace_by_call_id", {call_id: callId}));
  if (!result.ok) {
    replaceChildren(main, head, result.status === 404
      ? notice("warn", "No hook records for call ", el("code", {}, callId), ". Check the id, or look at the ",
        el("a", {href: "/ui"}, "recent calls"), ".")
      : errorNotice("Could not load the records", result));
    return;
  }
  const {entries = [], trace_id: traceId} = result.body;
  replaceChildren(main, head,
    el("p", {},
      el("a", {href: url("/ui/conversation", {call_id: callId})}, "Live view of this call"),
      traceId ? [" · trace ", el("a", {href: url("/ui/session", {trace_id: traceId})},
        el("code", {}, traceId))] : null,
      ` · ${entries.length} record${entries.length === 1 ? "" : "s"}`),
    entries.length ? recordList(entries) : el("p", {class: "muted"}, "This call has no hook records."));
}

function recordList(entries) {
  return el("ol", {id: "hook-records", class: "records"}, entries.map((entry, i) => {
    const previous = i > 0 ? entries[i - 1].offset_ms : null;
    const gap = previous === null || entry.offset_ms === null ? null : entry.offset_ms - previous;
    return el("li", {class: "record", dataset: {type: entry.debug_type_identifier}},
      el("div", {class: "record-head"},
        el("span", {class: "offset", title: "time since the first record"}, `+${formatDuration(entry.offset_ms)}`),
        el("code", {class: "type"}, entry.debug_type_identifier),
        entry.hook ? el("span", {class: "hook muted"}, entry.hook) : null,
        el("span", {class: "muted"}, formatTime(entry.time_created)),
        gap !== null && i > 0 ? el("span", {class: "muted gap"}, `(${formatDuration(gap)} after the previous)`) : null),
      el("details", {open: entries.length <= 6}, el("summary", {}, "record"), jsonBlock(entry.jsonblob)));
  }));
}
