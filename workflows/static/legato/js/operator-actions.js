/**
 * What an operator may do to an execution, and with what: which header actions show for a
 * status, which states a re-run can start from, waiting callbacks, and when the task attempts
 * need reading again. Pure: no DOM, no fetch — tested with `node --test`.
 */

const REDRIVABLE = new Set(["FAILED", "TIMED_OUT", "ABORTED"]);

/** Which header actions an execution in `status` offers. */
export function availableActions(status) {
  const s = String(status || "").toUpperCase();
  return {
    stop: s === "RUNNING",
    redrive: REDRIVABLE.has(s),
    rerun: true,
    startAgain: true,
  };
}

/** True for an event that entered a state of the top-level state machine (not in a branch). */
export function isTopLevelEntry(event) {
  if (!event || typeof event.type !== "string" || !event.type.endsWith("StateEntered")) return false;
  if (!event.state) return false;
  const details = event.details;
  return !(details && typeof details === "object" && details.frame != null && details.frame !== "");
}

/**
 * The top-level states that ran, in the order they were first entered, each with the last
 * status a top-level event gave it: `[{state, status}]`. A re-run can start at any of them.
 */
export function rerunCandidates(events) {
  const order = [];
  const status = new Map();
  for (const event of events || []) {
    if (isTopLevelEntry(event) && !status.has(event.state)) {
      order.push(event.state);
      status.set(event.state, null);
    }
    const topLevel = !(event?.details && typeof event.details === "object" && event.details.frame);
    if (topLevel && event?.state && status.has(event.state) && event.status) {
      status.set(event.state, String(event.status).toLowerCase());
    }
  }
  return order.map((state) => ({ state, status: status.get(state) }));
}

/**
 * The state a re-run most likely wants: the last one that failed, was aborted or is still
 * running; otherwise the first state. null when nothing ran.
 */
export function defaultRerunState(candidates) {
  if (!candidates?.length) return null;
  for (let i = candidates.length - 1; i >= 0; i -= 1) {
    if (["failed", "aborted", "running"].includes(candidates[i].status)) return candidates[i].state;
  }
  return candidates[0].state;
}

/** Label of a re-run option: "Charge — failed". */
export function candidateLabel({ state, status }) {
  return status ? `${state} — ${status}` : state;
}

/** An error message for a reason, or "" when it is acceptable. */
export function reasonError(reason, { required = false, max = 2000 } = {}) {
  const text = String(reason ?? "").trim();
  if (required && !text) return "Give a reason: it is recorded in the audit trail.";
  if (text.length > max) return `Keep the reason under ${max} characters (${text.length} now).`;
  return "";
}

/** Body of POST …/stop/: the cause defaults to the reason so the page says why it stopped. */
export function stopBody(reason, cause) {
  const r = String(reason ?? "").trim();
  const c = String(cause ?? "").trim();
  return { reason: r, cause: c || r };
}

/** Body of POST …/task-tokens/{t}/failure/: an error name is needed, the cause is optional. */
export function failureBody(error, cause) {
  return {
    error: String(error ?? "").trim() || "Rejected",
    cause: String(cause ?? "").trim(),
  };
}

/** Attempts waiting for a callback that can still be completed from the page. */
export function waitingCallbacks(attempts) {
  return (attempts || []).filter((a) => a && a.waiting_for_token && a.token);
}

const REFRESH_EVENT = /^(Task(Scheduled|Started|Submitted|Succeeded|Failed|TimedOut)|\w*StateExited|Execution(Succeeded|Failed|Aborted|TimedOut|Redriven))$/;

/** True when one of `events` can have changed the task attempts (so /states/ is stale). */
export function affectsAttempts(events) {
  return (events || []).some((e) => REFRESH_EVENT.test(String(e?.type || "")));
}

/**
 * Whether the history suggests a callback is waiting right now: some state's last task event
 * is TaskSubmitted (the handler ran; the task waits for its token). Used only to reserve room
 * for the callback card before /states/ answers, so nothing jumps when it does.
 */
export function looksLikeWaiting(events) {
  const last = new Map();
  for (const e of events || []) {
    if (!e?.state) continue;
    const frame = e.details && typeof e.details === "object" ? e.details.frame || "" : "";
    const key = `${frame}\u0000${e.state}`;
    if (/^Task(Scheduled|Started|Submitted|Succeeded|Failed|TimedOut)$/.test(e.type) || /StateExited$/.test(e.type)) {
      last.set(key, e.type);
    }
  }
  for (const type of last.values()) if (type === "TaskSubmitted") return true;
  return false;
}
