// The live part every live page shares: the "live updates" indicator, the EventSource subscription
// (re-reading the page's record on each open and after a bus gap, retrying with backoff when the
// browser gives up) and a render that runs once per burst of events.

import {el} from "/ui/static/common.js";

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 15000;
const RENDER_DELAY_MS = 30;

/** How the listing pages (calls, audits) word a lost connection. */
export const LISTING_WORDS = {
  interrupted: () => "interrupted, reconnecting…",
  reconnecting: "disconnected, reconnecting…",
  retrying: (seconds) => `disconnected, retrying in ${seconds} s`,
};

/** How the pages of one call or one session word it. */
export const CALL_WORDS = {
  interrupted: () => "live events interrupted; reconnecting",
  reconnecting: "reconnecting…",
  retrying: (seconds) => `unavailable, retrying in ${seconds} s`,
};

/** The page head's "live updates: <state>" indicator: `node` to mount, `set(state, text)` to change
 * it (`state` is its data-state: connecting, live, retrying, interrupted, paused). */
export function liveIndicator() {
  const status = el("span", {class: "connection", id: "connection", "data-state": "connecting"}, "connecting…");
  return {
    node: el("span", {class: "live-status"}, "live updates: ", status),
    set(state, text) {
      status.dataset.state = state;
      status.textContent = text;
    },
  };
}

/**
 * Subscribe to the SSE stream at `address`, shown on `indicator`. Each parsed event goes to
 * `onEvent`. `reload` re-reads the page's record: on every open (subscribed first, read second, so
 * nothing in between is lost, and a reconnect may have missed events) and after `bus_recovered`
 * (what was published during the gap is only in the record). With `loaded`, an error before it
 * says true reads the record anyway, so a refused stream still shows the page.
 */
export function subscribe(address, {indicator, onEvent, reload, loaded = null, words = LISTING_WORDS}) {
  let retryMs = FIRST_RETRY_MS;
  const connect = () => {
    const source = new EventSource(address);
    indicator.set("connecting", "connecting…");
    source.onopen = () => {
      retryMs = FIRST_RETRY_MS;
      indicator.set("live", "live");
      reload();
    };
    source.onmessage = (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return; // not an event
      }
      onEvent(event);
    };
    // Notices about the subscription itself (Redis lost and regained), not events of the page.
    source.addEventListener("bus_error", (message) => {
      indicator.set("interrupted", words.interrupted(noticeDetail(message)));
    });
    source.addEventListener("bus_recovered", () => {
      indicator.set("live", "live");
      reload();
    });
    source.onerror = () => {
      if (loaded && !loaded()) reload();
      if (source.readyState !== EventSource.CLOSED) {
        indicator.set("retrying", words.reconnecting);
        return;
      }
      // The browser gives up on a non-200 answer (429, 401, 503): retry with backoff.
      source.close();
      indicator.set("retrying", words.retrying(Math.round(retryMs / 1000)));
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    };
  };
  connect();
}

/** The `detail` a bus notice carries; null when it has none. */
function noticeDetail(message) {
  try {
    return JSON.parse(message.data).detail || null;
  } catch {
    return null;
  }
}

/** A function that calls `render` once, shortly after the first of a burst of calls. */
export function renderSoon(render, delayMs = RENDER_DELAY_MS) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    // A timer, not requestAnimationFrame: frames stop in background tabs, and a live page left in
    // one must still be current when the user comes back.
    setTimeout(() => {
      queued = false;
      render();
    }, delayMs);
  };
}
