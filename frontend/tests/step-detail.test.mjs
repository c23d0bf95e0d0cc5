import assert from "node:assert/strict";
import { test } from "node:test";

import {
  addLogLines,
  attemptStatusLabel,
  attemptTiming,
  attemptTitle,
  attemptTone,
  attemptsFor,
  createLogStore,
  levelTone,
  logLinesFor,
  stateSummary,
} from "../../workflows/static/legato/js/step-detail.js";

const ev = (seq, type, state, details = {}, status = null) => ({ seq, type, state, status, details, timestamp: `2026-01-01T00:00:0${seq}Z` });

test("the summary has the latest entry's input and the latest exit's output", () => {
  const events = [
    ev(1, "TaskStateEntered", "Work", { input: { n: 1 } }, "running"),
    ev(2, "TaskStateExited", "Work", { output: { r: 1 } }, "succeeded"),
    ev(3, "TaskStateEntered", "Other", { input: "x" }, "running"),
    ev(4, "TaskStateEntered", "Work", { input: { n: 2 } }, "running"),
  ];
  const s = stateSummary(events, "Work");
  assert.equal(s.runs, 2);
  assert.deepEqual(s.input, { n: 2 });
  assert.equal(s.output, undefined, "the second run has no output yet");
  assert.equal(s.status, "running");
  assert.equal(s.enteredAt, "2026-01-01T00:00:04Z");
});

test("a state that never ran has no input, output or status", () => {
  const s = stateSummary([ev(1, "TaskStateEntered", "Other", { input: 1 })], "Work");
  assert.deepEqual([s.runs, s.input, s.output, s.status], [0, undefined, undefined, null]);
});

test("null input and output are kept (they are values)", () => {
  const s = stateSummary([ev(1, "PassStateEntered", "P", { input: null }), ev(2, "PassStateExited", "P", { output: null })], "P");
  assert.equal(s.input, null);
  assert.equal(s.output, null);
});

test("a failure's error and cause are remembered", () => {
  const s = stateSummary([
    ev(1, "TaskStateEntered", "C", { input: {} }, "running"),
    ev(2, "TaskFailed", "C", { error: "Boom", cause: "bad card" }),
    ev(3, "TaskStateExited", "C", {}, "failed"),
  ], "C");
  assert.equal(s.error, "Boom");
  assert.equal(s.cause, "bad card");
  assert.equal(s.status, "failed");
});

test("attempts of a state come newest first", () => {
  const attempts = [
    { id: 1, state: "A", attempt: 1, scheduled_at: "2026-01-01T00:00:01Z" },
    { id: 2, state: "B", attempt: 1, scheduled_at: "2026-01-01T00:00:02Z" },
    { id: 3, state: "A", attempt: 2, scheduled_at: "2026-01-01T00:00:03Z" },
    { id: 4, state: "A", attempt: 1, scheduled_at: "2026-01-01T00:00:03Z", item_index: 5 },
  ];
  assert.deepEqual(attemptsFor(attempts, "A").map((a) => a.id), [4, 3, 1]);
  assert.deepEqual(attemptsFor(null, "A"), []);
  assert.equal(attemptTitle(attempts[3]), "Attempt 1 · item 5");
  assert.equal(attemptTitle(attempts[0]), "Attempt 1");
});

test("attempt statuses read as words and map to the status colours", () => {
  assert.equal(attemptStatusLabel("WAITING"), "Waiting for callback");
  assert.equal(attemptStatusLabel("SUCCEEDED"), "Succeeded");
  assert.equal(attemptTone("RUNNING"), "running");
  assert.equal(attemptTone("CANCELLED"), "aborted");
  assert.equal(attemptTone("SCHEDULED"), "pending");
  assert.equal(attemptTone("WAITING"), "waiting");
});

test("timing: queued until started, ran until finished or now", () => {
  const t = attemptTiming({ scheduled_at: "2026-01-01T00:00:00Z", started_at: "2026-01-01T00:00:01Z", finished_at: "2026-01-01T00:00:04Z" });
  assert.deepEqual(t, { queued: 1000, ran: 3000 });
  const running = attemptTiming({ scheduled_at: "2026-01-01T00:00:00Z", started_at: "2026-01-01T00:00:01Z" }, Date.parse("2026-01-01T00:00:11Z"));
  assert.equal(running.ran, 10000);
  assert.ok(Number.isNaN(attemptTiming({ scheduled_at: "2026-01-01T00:00:00Z" }).ran));
  const waiting = attemptTiming({ status: "WAITING", started_at: "2026-01-01T00:00:01Z", finished_at: "2026-01-01T00:00:01.020Z" }, Date.parse("2026-01-01T00:01:01Z"));
  assert.equal(waiting.ran, 60000, "a waiting callback counts until now");
});

test("log lines are deduplicated by (attempt, seq) and kept in seq order", () => {
  const store = createLogStore();
  const first = addLogLines(store, [
    { attempt: 7, seq: 2, message: "b" },
    { attempt: 7, seq: 1, message: "a" },
  ]);
  assert.deepEqual(first.map((l) => l.seq), [1, 2]);
  const again = addLogLines(store, [{ attempt: 7, seq: 2, message: "b" }, { attempt: 7, seq: 3, message: "c" }, { attempt: 8, seq: 1, message: "other" }]);
  assert.deepEqual(again.map((l) => `${l.attempt}:${l.seq}`), ["7:3", "8:1"]);
  assert.deepEqual(logLinesFor(store, 7).map((l) => l.message), ["a", "b", "c"]);
  assert.deepEqual(logLinesFor(store, 99), []);
});

test("lines without their own attempt take the message's attempt; junk is skipped", () => {
  const store = createLogStore();
  const added = addLogLines(store, [{ seq: 1, message: "x" }, null, { attempt: 3, message: "no seq" }], 3);
  assert.equal(added.length, 1);
  assert.equal(added[0].attempt, 3);
  assert.equal(addLogLines(store, [{ seq: 1 }], null).length, 0);
});

test("log levels map to tones", () => {
  assert.equal(levelTone("ERROR"), "error");
  assert.equal(levelTone("critical"), "error");
  assert.equal(levelTone("WARNING"), "warning");
  assert.equal(levelTone("DEBUG"), "debug");
  assert.equal(levelTone("INFO"), "info");
  assert.equal(levelTone(undefined), "info");
});
