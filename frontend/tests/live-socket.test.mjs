import assert from "node:assert/strict";
import { test } from "node:test";

import { LiveSocket } from "../../workflows/static/legato/js/live-socket.js";

/** A fake WebSocket the test drives by hand, plus a fake clock. */
function harness({ terminal = () => false } = {}) {
  const sockets = [];
  const timers = [];
  const states = [];
  const messages = [];
  let seq = 0;
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      sockets.push(this);
    }
    open() { this.readyState = 1; this.onopen?.(); }
    send(data) { this.onmessage?.({ data: JSON.stringify(data) }); }
    drop(code = 1006) { this.readyState = 3; this.onclose?.({ code }); }
    close() { this.closedByClient = true; this.readyState = 3; this.onclose?.({ code: 1000 }); }
  }
  const live = new LiveSocket({
    url: () => `ws://h/ws/executions/1/?after_seq=${seq}`,
    onMessage: (m) => { messages.push(m); seq = m.seq ?? seq; },
    onState: (s) => states.push(s),
    shouldReconnect: () => !terminal(),
    WebSocketImpl: FakeSocket,
    setTimer: (fn, ms) => timers.push({ fn, ms }) - 1,
    clearTimer: (id) => { timers[id].cancelled = true; },
  });
  const runTimer = () => { const t = timers.at(-1); assert.ok(t && !t.cancelled); t.fn(); };
  return { live, sockets, timers, states, messages, runTimer };
}

test("reconnects with growing delays and the latest after_seq", () => {
  const h = harness();
  h.live.start();
  h.sockets[0].open();
  h.sockets[0].send({ type: "events", seq: 5 });
  h.sockets[0].drop();
  assert.equal(h.timers[0].ms, 500);
  h.runTimer();
  assert.equal(h.sockets[1].url, "ws://h/ws/executions/1/?after_seq=5");
  h.sockets[1].drop();
  assert.equal(h.timers[1].ms, 1000, "no data came, so the delay grows");
  h.runTimer();
  h.sockets[2].open();
  h.sockets[2].send({ type: "events", seq: 6 });
  h.sockets[2].drop();
  assert.equal(h.timers[2].ms, 500, "data flowed, so the delay starts over");
  assert.deepEqual(h.states, ["connecting", "connected", "reconnecting", "connected", "reconnecting"]);
});

test("does not reconnect once the execution is terminal", () => {
  let done = false;
  const h = harness({ terminal: () => done });
  h.live.start();
  h.sockets[0].open();
  done = true;
  h.sockets[0].drop();
  assert.equal(h.timers.length, 0);
  assert.equal(h.states.at(-1), "closed");
});

test("a 44xx close code from the server is final", () => {
  const h = harness();
  h.live.start();
  h.sockets[0].drop(4403);
  assert.equal(h.timers.length, 0);
  assert.equal(h.states.at(-1), "closed");
});

test("stop() closes the socket and cancels a pending retry", () => {
  const h = harness();
  h.live.start();
  h.sockets[0].drop();
  h.live.stop();
  assert.equal(h.timers[0].cancelled, true);
  assert.equal(h.states.at(-1), "closed");
});

test("non-JSON frames are ignored", () => {
  const h = harness();
  h.live.start();
  h.sockets[0].open();
  h.sockets[0].onmessage({ data: "not json" });
  assert.deepEqual(h.messages, []);
});
