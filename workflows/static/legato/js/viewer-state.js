/**
 * Pure state of the execution viewer: events deduplicated by seq, per-state statuses, and
 * the execution summary. No DOM, no timers, no sockets — tested with `node --test`.
 */

export const TERMINAL_STATUSES = Object.freeze(["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]);

export const NODE_STATUSES = Object.freeze([
  "pending", "running", "succeeded", "failed", "caught", "aborted",
]);

const STATUS_LABELS = {
  RUNNING: "Running",
  SUCCEEDED: "Succeeded",
  FAILED: "Failed",
  TIMED_OUT: "Timed out",
  ABORTED: "Aborted",
  PENDING_REDRIVE: "Pending redrive",
};

/** True when an execution status can no longer change (no more events will come). */
export function isTerminal(status) {
  return TERMINAL_STATUSES.includes(String(status || "").toUpperCase());
}

/** Human label for an execution status: "TIMED_OUT" -> "Timed out". */
export function statusLabel(status) {
  const key = String(status || "").toUpperCase();
  if (STATUS_LABELS[key]) return STATUS_LABELS[key];
  const words = key.toLowerCase().replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Highest seq in a list of events, or 0. */
export function lastSeq(events) {
  let max = 0;
  for (const e of events) if (Number.isFinite(e?.seq) && e.seq > max) max = e.seq;
  return max;
}

/**
 * Events from `incoming` that are not in `knownSeqs` (a Set of seqs), sorted by seq and
 * without duplicates among themselves. Events without a numeric seq are dropped.
 * `knownSeqs` is not modified.
 */
export function newEvents(knownSeqs, incoming) {
  const seen = new Set(knownSeqs);
  const fresh = [];
  for (const event of incoming || []) {
    if (!event || !Number.isFinite(event.seq) || seen.has(event.seq)) continue;
    seen.add(event.seq);
    fresh.push(event);
  }
  return fresh.sort((a, b) => a.seq - b.seq);
}

/**
 * Apply events to a {stateName: status} map and return a new map. An event changes a node
 * only when both `state` and `status` are non-null; unknown status words are ignored so a
 * newer server cannot paint a node with a colour the stylesheet does not know.
 */
export function reduceStatuses(statuses, events) {
  const next = { ...statuses };
  for (const event of events) {
    if (event?.state == null || event?.status == null) continue;
    const status = String(event.status).toLowerCase();
    if (NODE_STATUSES.includes(status)) next[event.state] = status;
  }
  return next;
}

/**
 * Statuses once the execution is over: an ABORTED execution leaves no node running.
 * Other terminal states keep what the events said.
 */
export function settleStatuses(statuses, executionStatus) {
  if (String(executionStatus || "").toUpperCase() !== "ABORTED") return { ...statuses };
  const next = {};
  for (const [state, status] of Object.entries(statuses)) {
    next[state] = status === "running" ? "aborted" : status;
  }
  return next;
}

/** The viewer's whole model, created from the json_script payloads. */
export function createViewerState({ events = [], statuses = {}, execution = {} } = {}) {
  const initial = newEvents(new Set(), events);
  return {
    events: initial,
    seqs: new Set(initial.map((e) => e.seq)),
    statuses: { ...statuses },
    execution: { ...execution },
  };
}

/**
 * Fold one server message into the state. Returns {state, added} where `added` are the
 * events to append to the table, in seq order. Messages of other types change nothing.
 */
export function applyMessage(state, message) {
  if (!message || message.type !== "events") return { state, added: [] };
  const added = newEvents(state.seqs, message.events);
  const execution = message.execution ? { ...state.execution, ...message.execution } : state.execution;
  let statuses = reduceStatuses(state.statuses, added);
  if (isTerminal(execution.status)) statuses = settleStatuses(statuses, execution.status);
  const seqs = new Set(state.seqs);
  for (const e of added) seqs.add(e.seq);
  return {
    state: { events: state.events.concat(added), seqs, statuses, execution },
    added,
  };
}

/**
 * Fold an execution summary that did not come with events (the answer to Stop or Redrive)
 * into the state: the header refreshes and an aborted execution leaves no node running.
 */
export function applyExecution(state, execution) {
  if (!execution || typeof execution !== "object") return state;
  const merged = { ...state.execution, ...execution };
  const statuses = isTerminal(merged.status) ? settleStatuses(state.statuses, merged.status) : { ...state.statuses };
  return { ...state, execution: merged, statuses };
}

/** Reconnect delay in ms for the n-th consecutive failure (0-based): 0.5 s doubling to 10 s. */
export function backoffDelay(attempt, { base = 500, max = 10000 } = {}) {
  const n = Math.max(0, Math.floor(attempt));
  return Math.min(max, base * 2 ** Math.min(n, 20));
}

/** ws:// or wss:// URL for `path` on the page's host, asking for events after `afterSeq`. */
export function socketUrl(pageLocation, path, afterSeq) {
  const url = new URL(path, pageLocation.href);
  url.protocol = pageLocation.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("after_seq", String(afterSeq || 0));
  return url.toString();
}

/** Colour family of an event type for the events table: running/succeeded/failed/caught/aborted. */
export function eventTone(type) {
  const t = String(type || "");
  if (/(Failed|TimedOut)$/.test(t)) return "failed";
  if (/Aborted$/.test(t)) return "aborted";
  if (/Succeeded$/.test(t)) return "succeeded";
  if (/(Started|Entered|Scheduled)$/.test(t)) return "running";
  return "";
}
