import assert from "node:assert/strict";
import { test } from "node:test";

import {
  affectsAttempts,
  availableActions,
  candidateLabel,
  defaultRerunState,
  failureBody,
  isTopLevelEntry,
  looksLikeWaiting,
  reasonError,
  rerunCandidates,
  stopBody,
  waitingCallbacks,
} from "../../workflows/static/legato/js/operator-actions.js";

const ev = (seq, type, state = null, status = null, details = {}) => ({ seq, type, state, status, details, timestamp: "2026-01-01T00:00:00Z" });

test("a running execution can be stopped, a failed, timed-out or aborted one redriven", () => {
  assert.deepEqual(availableActions("RUNNING"), { stop: true, redrive: false, rerun: true, startAgain: true });
  for (const s of ["FAILED", "TIMED_OUT", "ABORTED", "failed"]) {
    const a = availableActions(s);
    assert.equal(a.stop, false, s);
    assert.equal(a.redrive, true, s);
  }
  assert.deepEqual(availableActions("SUCCEEDED"), { stop: false, redrive: false, rerun: true, startAgain: true });
  assert.equal(availableActions(undefined).stop, false);
  assert.equal(availableActions("PENDING_REDRIVE").redrive, false);
});

test("only StateEntered events without a frame are top-level entries", () => {
  assert.equal(isTopLevelEntry(ev(1, "TaskStateEntered", "A")), true);
  assert.equal(isTopLevelEntry(ev(1, "TaskStateEntered", "A", null, null)), true);
  assert.equal(isTopLevelEntry(ev(1, "TaskStateEntered", "A", null, { frame: "" })), true);
  assert.equal(isTopLevelEntry(ev(1, "TaskStateEntered", "A", null, { frame: "f2" })), false);
  assert.equal(isTopLevelEntry(ev(1, "TaskStateExited", "A")), false);
  assert.equal(isTopLevelEntry(ev(1, "ExecutionStarted")), false);
  assert.equal(isTopLevelEntry(null), false);
});

test("re-run candidates are the top-level states in first-entry order with their last status", () => {
  const events = [
    ev(1, "ExecutionStarted"),
    ev(2, "PassStateEntered", "Prepare", "running"),
    ev(3, "PassStateExited", "Prepare", "succeeded"),
    ev(4, "MapStateEntered", "Fan", "running"),
    ev(5, "TaskStateEntered", "Inner", "running", { frame: "m1" }),
    ev(6, "TaskStateExited", "Inner", "succeeded", { frame: "m1" }),
    ev(7, "MapStateExited", "Fan", "succeeded"),
    ev(8, "TaskStateEntered", "Charge", "running"),
    ev(9, "TaskFailed", "Charge", null),
    ev(10, "TaskStateExited", "Charge", "failed"),
    ev(11, "PassStateEntered", "Prepare", "running"),
    ev(12, "PassStateExited", "Prepare", "succeeded"),
  ];
  const candidates = rerunCandidates(events);
  assert.deepEqual(candidates, [
    { state: "Prepare", status: "succeeded" },
    { state: "Fan", status: "succeeded" },
    { state: "Charge", status: "failed" },
  ]);
  assert.equal(defaultRerunState(candidates), "Charge");
  assert.equal(candidateLabel(candidates[2]), "Charge — failed");
  assert.equal(candidateLabel({ state: "X", status: null }), "X");
});

test("the default re-run state is the last failed one, else the first; none without candidates", () => {
  assert.equal(defaultRerunState([]), null);
  assert.equal(defaultRerunState(null), null);
  assert.equal(defaultRerunState([{ state: "A", status: "succeeded" }, { state: "B", status: "succeeded" }]), "A");
  assert.equal(defaultRerunState([{ state: "A", status: "aborted" }, { state: "B", status: "succeeded" }]), "A");
});

test("a reason is required where asked and bounded", () => {
  assert.match(reasonError("  ", { required: true }), /reason/);
  assert.equal(reasonError("", { required: false }), "");
  assert.equal(reasonError("customer asked", { required: true }), "");
  assert.match(reasonError("x".repeat(2001)), /2000/);
});

test("stop sends the reason as the cause unless a cause is given", () => {
  assert.deepEqual(stopBody(" wrong input ", ""), { reason: "wrong input", cause: "wrong input" });
  assert.deepEqual(stopBody("r", " c "), { reason: "r", cause: "c" });
});

test("a rejection needs an error name", () => {
  assert.deepEqual(failureBody("", ""), { error: "Rejected", cause: "" });
  assert.deepEqual(failureBody(" Denied ", " too big "), { error: "Denied", cause: "too big" });
});

test("waiting callbacks are the attempts waiting with a token", () => {
  const attempts = [
    { id: 1, waiting_for_token: true, token: "t1" },
    { id: 2, waiting_for_token: true, token: null },
    { id: 3, waiting_for_token: false, token: "t3" },
    null,
  ];
  assert.deepEqual(waitingCallbacks(attempts).map((a) => a.id), [1]);
  assert.deepEqual(waitingCallbacks(undefined), []);
});

test("task and exit events make the attempts stale; entries and choices do not", () => {
  for (const type of ["TaskSubmitted", "TaskSucceeded", "TaskFailed", "TaskStateExited", "TaskScheduled", "ExecutionAborted", "ExecutionRedriven", "MapStateExited"]) {
    assert.equal(affectsAttempts([ev(1, type)]), true, type);
  }
  for (const type of ["TaskStateEntered", "ChoiceStateEntered", "WaitStateEntered", "ExecutionStarted"]) {
    assert.equal(affectsAttempts([ev(1, type)]), false, type);
  }
  assert.equal(affectsAttempts([]), false);
});

test("a TaskSubmitted not followed by a result looks like a waiting callback", () => {
  const waiting = [ev(1, "TaskStateEntered", "Approve"), ev(2, "TaskScheduled", "Approve"), ev(3, "TaskSubmitted", "Approve")];
  assert.equal(looksLikeWaiting(waiting), true);
  assert.equal(looksLikeWaiting([...waiting, ev(4, "TaskSucceeded", "Approve")]), false);
  assert.equal(looksLikeWaiting([ev(1, "TaskScheduled", "A")]), false);
  // the same state name in two Map iterations is tracked per frame
  const perFrame = [
    ev(1, "TaskSubmitted", "Ask", null, { frame: "a" }),
    ev(2, "TaskSubmitted", "Ask", null, { frame: "b" }),
    ev(3, "TaskSucceeded", "Ask", null, { frame: "a" }),
  ];
  assert.equal(looksLikeWaiting(perFrame), true);
});
