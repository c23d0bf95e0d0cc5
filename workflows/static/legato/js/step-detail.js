/**
 * The step panel's model: a state's latest input and output from the history, its task
 * attempts from /states/, and the log lines of each attempt (from /states/ and live from the
 * WebSocket), deduplicated by (attempt, seq). Pure: no DOM — tested with `node --test`.
 */

import { elapsedMs } from "./format.js";

const has = (object, key) => object != null && typeof object === "object" && Object.hasOwn(object, key);

/**
 * What the history says about one state: how many times it was entered, the input of the
 * latest entry, the output of the latest exit, and the status of its last event.
 * `input`/`output` are undefined when no event carried them.
 */
export function stateSummary(events, name) {
  const summary = { runs: 0, input: undefined, output: undefined, status: null, enteredAt: null, exitedAt: null, error: null, cause: null };
  for (const e of events || []) {
    if (!e || e.state !== name) continue;
    const type = String(e.type || "");
    if (type.endsWith("StateEntered")) {
      summary.runs += 1;
      summary.enteredAt = e.timestamp || null;
      if (has(e.details, "input")) summary.input = e.details.input;
      summary.output = undefined;
      summary.exitedAt = null;
      summary.error = null;
      summary.cause = null;
    } else if (type.endsWith("StateExited")) {
      summary.exitedAt = e.timestamp || null;
      if (has(e.details, "output")) summary.output = e.details.output;
    }
    if (/(Failed|TimedOut|Aborted)$/.test(type) && e.details && typeof e.details === "object") {
      if (e.details.error) summary.error = e.details.error;
      if (e.details.cause) summary.cause = e.details.cause;
    }
    if (e.status) summary.status = String(e.status).toLowerCase();
  }
  return summary;
}

/** The attempts of state `name`, newest first (by scheduled time, then id). */
export function attemptsFor(attempts, name) {
  const key = (a) => Date.parse(a.scheduled_at || a.started_at || "") || 0;
  return (attempts || [])
    .filter((a) => a && a.state === name)
    .sort((a, b) => key(b) - key(a) || (b.id ?? 0) - (a.id ?? 0));
}

/** "Attempt 2", or "Attempt 2 · item 7" for a Map iteration. */
export function attemptTitle(attempt) {
  const base = `Attempt ${attempt?.attempt ?? "?"}`;
  return attempt?.item_index != null ? `${base} · item ${attempt.item_index}` : base;
}

/** An attempt's status as a node status word for the colours: running, succeeded… */
export function attemptTone(status) {
  switch (String(status || "").toUpperCase()) {
    case "SCHEDULED":
      return "pending";
    case "RUNNING":
      return "running";
    case "WAITING":
      return "waiting";
    case "SUCCEEDED":
      return "succeeded";
    case "FAILED":
      return "failed";
    case "CANCELLED":
      return "aborted";
    default:
      return "pending";
  }
}

/** Label for an attempt status: "WAITING" -> "Waiting for callback". */
export function attemptStatusLabel(status) {
  const s = String(status || "").toUpperCase();
  if (s === "WAITING") return "Waiting for callback";
  if (!s) return "Unknown";
  return s.charAt(0) + s.slice(1).toLowerCase();
}

/**
 * Timing of an attempt in ms: `queued` (scheduled → started) and `ran` (started → finished,
 * or → now while it runs). NaN where unknown.
 */
export function attemptTiming(attempt, now = Date.now()) {
  const queued = attempt?.scheduled_at && attempt?.started_at ? elapsedMs(attempt.scheduled_at, attempt.started_at) : Number.NaN;
  let ran = Number.NaN;
  if (attempt?.started_at) {
    // A callback task's handler finishes at once, but the task lasts until its token is used.
    const open = !attempt.finished_at || String(attempt.status || "").toUpperCase() === "WAITING";
    ran = open ? elapsedMs(attempt.started_at, null, now) : elapsedMs(attempt.started_at, attempt.finished_at);
  }
  return { queued, ran };
}

/* ---------------------------------------------------------------- log lines */

/** An empty store of log lines: attempt id -> Map(seq -> line). */
export function createLogStore() {
  return new Map();
}

/**
 * Add `lines` (each `{attempt, seq, timestamp, level, message}`) to `store` and return the
 * ones that were new, ordered by attempt then seq. `fallbackAttempt` fills a line without
 * its own `attempt` (a WebSocket message names the attempt once for all its lines).
 */
export function addLogLines(store, lines, fallbackAttempt = null) {
  const added = [];
  for (const raw of lines || []) {
    if (!raw || typeof raw !== "object") continue;
    const attempt = raw.attempt ?? fallbackAttempt;
    const seq = Number(raw.seq);
    if (attempt == null || !Number.isFinite(seq)) continue;
    let lines = store.get(attempt);
    if (!lines) {
      lines = new Map();
      store.set(attempt, lines);
    }
    if (lines.has(seq)) continue;
    const line = { ...raw, attempt, seq };
    lines.set(seq, line);
    added.push(line);
  }
  return added.sort((a, b) => (a.attempt === b.attempt ? a.seq - b.seq : String(a.attempt).localeCompare(String(b.attempt))));
}

/** Every line of attempt `attemptId` in the store, by seq. */
export function logLinesFor(store, attemptId) {
  const lines = store.get(attemptId);
  return lines ? [...lines.values()].sort((a, b) => a.seq - b.seq) : [];
}

/** CSS tone of a log level: "error" for ERROR/CRITICAL, "warning", "debug", else "info". */
export function levelTone(level) {
  const l = String(level || "").toUpperCase();
  if (l === "ERROR" || l === "CRITICAL" || l === "FATAL") return "error";
  if (l === "WARNING" || l === "WARN") return "warning";
  if (l === "DEBUG") return "debug";
  return "info";
}
