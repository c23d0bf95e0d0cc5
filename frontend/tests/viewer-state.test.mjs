import assert from "node:assert/strict";
import { test } from "node:test";

import {
  applyMessage,
  backoffDelay,
  createViewerState,
  eventTone,
  isTerminal,
  lastSeq,
  newEvents,
  reduceStatuses,
  settleStatuses,
  socketUrl,
  statusLabel,
} from "../../workflows/static/legato/js/viewer-state.js";

const ev = (seq, extra = {}) => ({ seq, type: "TaskStateEntered", timestamp: "2026-01-01T00:00:00Z", state: null, status: null, details: {}, ...extra });

test("terminal statuses are the four final ones, case-insensitively", () => {
  for (const s of ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "failed"]) assert.equal(isTerminal(s), true, s);
  for (const s of ["RUNNING", "PENDING_REDRIVE", "", null, undefined]) assert.equal(isTerminal(s), false, String(s));
});

test("status labels read as words", () => {
  assert.equal(statusLabel("TIMED_OUT"), "Timed out");
  assert.equal(statusLabel("RUNNING"), "Running");
  assert.equal(statusLabel("SOMETHING_NEW"), "Something new");
});

test("newEvents drops known and repeated seqs and sorts the rest", () => {
  const fresh = newEvents(new Set([1, 2]), [ev(4), ev(2), ev(3), ev(4), { type: "x" }]);
  assert.deepEqual(fresh.map((e) => e.seq), [3, 4]);
});

test("lastSeq is the highest seq, 0 for none", () => {
  assert.equal(lastSeq([]), 0);
  assert.equal(lastSeq([ev(3), ev(9), ev(5)]), 9);
});

test("reduceStatuses needs both state and status and ignores unknown words", () => {
  const out = reduceStatuses({ A: "pending" }, [
    ev(1, { state: "A", status: "running" }),
    ev(2, { state: "B", status: null }),
    ev(3, { state: null, status: "failed" }),
    ev(4, { state: "A", status: "SUCCEEDED" }),
    ev(5, { state: "C", status: "exploded" }),
  ]);
  assert.deepEqual(out, { A: "succeeded" });
});

test("an aborted execution leaves no node running; a failed one keeps its colours", () => {
  const statuses = { A: "succeeded", B: "running" };
  assert.deepEqual(settleStatuses(statuses, "ABORTED"), { A: "succeeded", B: "aborted" });
  assert.deepEqual(settleStatuses(statuses, "FAILED"), statuses);
});

test("applyMessage appends only unseen events and updates statuses and execution", () => {
  let state = createViewerState({
    events: [ev(1), ev(2, { state: "Validate", status: "running" })],
    statuses: { Validate: "running" },
    execution: { id: "e1", status: "RUNNING", output: null },
  });
  let result = applyMessage(state, {
    type: "events",
    events: [ev(2, { state: "Validate", status: "running" }), ev(3, { state: "Validate", status: "succeeded" }), ev(4, { state: "Reserve", status: "running" })],
    execution: { status: "RUNNING" },
  });
  state = result.state;
  assert.deepEqual(result.added.map((e) => e.seq), [3, 4]);
  assert.deepEqual(state.statuses, { Validate: "succeeded", Reserve: "running" });
  assert.equal(state.events.length, 4);

  result = applyMessage(state, { type: "events", events: [ev(4), ev(3)], execution: { status: "SUCCEEDED", output: { ok: true } } });
  assert.equal(result.added.length, 0, "a replay after reconnect adds nothing");
  assert.equal(result.state.execution.status, "SUCCEEDED");
  assert.deepEqual(result.state.execution.output, { ok: true });
  assert.equal(result.state.execution.id, "e1", "fields the message leaves out are kept");
});

test("applyMessage ignores messages of other types", () => {
  const state = createViewerState({ events: [ev(1)] });
  const result = applyMessage(state, { type: "ping" });
  assert.equal(result.state, state);
  assert.deepEqual(result.added, []);
});

test("back-off doubles from 0.5 s and stops at 10 s", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map((n) => backoffDelay(n)), [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
});

test("socket URL follows the page protocol and carries after_seq", () => {
  assert.equal(socketUrl(new URL("https://x.test/executions/7/"), "/ws/executions/7/", 12), "wss://x.test/ws/executions/7/?after_seq=12");
  assert.equal(socketUrl(new URL("http://127.0.0.1:8000/executions/7/"), "/ws/executions/7/", 0), "ws://127.0.0.1:8000/ws/executions/7/?after_seq=0");
});

test("event types map to table colours", () => {
  assert.equal(eventTone("TaskFailed"), "failed");
  assert.equal(eventTone("ExecutionTimedOut"), "failed");
  assert.equal(eventTone("ExecutionAborted"), "aborted");
  assert.equal(eventTone("TaskSucceeded"), "succeeded");
  assert.equal(eventTone("TaskStateEntered"), "running");
  assert.equal(eventTone("TaskStateExited"), "");
});

test("applyExecution merges a summary and settles nodes when it ends aborted", async () => {
  const { applyExecution } = await import("../../workflows/static/legato/js/viewer-state.js");
  const state = createViewerState({ statuses: { A: "succeeded", B: "running" }, execution: { id: "e", status: "RUNNING", name: "n" } });
  const stopped = applyExecution(state, { status: "ABORTED", stopped_at: "2026-01-01T00:00:00Z" });
  assert.equal(stopped.execution.status, "ABORTED");
  assert.equal(stopped.execution.name, "n");
  assert.deepEqual(stopped.statuses, { A: "succeeded", B: "aborted" });
  assert.equal(stopped.events, state.events);
  const redriven = applyExecution(stopped, { status: "RUNNING", stopped_at: null });
  assert.deepEqual(redriven.statuses, { A: "succeeded", B: "aborted" });
  assert.equal(redriven.execution.stopped_at, null);
  assert.equal(applyExecution(state, null), state);
});
