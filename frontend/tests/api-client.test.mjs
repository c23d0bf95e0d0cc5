import assert from "node:assert/strict";
import { test } from "node:test";

import { getJson, paths, postJson } from "../../workflows/static/legato/js/api-client.js";

function fakeFetch(status, body, calls = []) {
  return async (url, init) => {
    calls.push({ url, init });
    return {
      ok: status >= 200 && status < 300,
      status,
      json: async () => {
        if (body === undefined) throw new SyntaxError("no body");
        return body;
      },
    };
  };
}

test("a POST sends JSON with the CSRF header and the session", async () => {
  const calls = [];
  const result = await postJson("/api/v1/x/", { reason: "r" }, { csrf: "tok", fetchImpl: fakeFetch(200, { id: "1" }, calls) });
  assert.deepEqual(result, { ok: true, status: 200, data: { id: "1" }, message: "" });
  const { init } = calls[0];
  assert.equal(init.method, "POST");
  assert.equal(init.credentials, "same-origin");
  assert.equal(init.headers["X-CSRFToken"], "tok");
  assert.equal(init.headers["Content-Type"], "application/json");
  assert.equal(init.body, JSON.stringify({ reason: "r" }));
});

test("a GET sends neither a body nor the CSRF header", async () => {
  const calls = [];
  await getJson("/api/v1/y/", { csrf: "tok", fetchImpl: fakeFetch(200, {}, calls) });
  assert.equal(calls[0].init.method, "GET");
  assert.equal(calls[0].init.body, undefined);
  assert.equal(calls[0].init.headers["X-CSRFToken"], undefined);
});

test("an API error becomes the envelope's message", async () => {
  const body = { error: { code: "ExecutionNotRunning", message: "The execution is already SUCCEEDED.", details: [] } };
  const result = await postJson("/x", {}, { fetchImpl: fakeFetch(409, body) });
  assert.equal(result.ok, false);
  assert.equal(result.status, 409);
  assert.equal(result.message, "The execution is already SUCCEEDED. (ExecutionNotRunning)");
});

test("a non-JSON error and a network failure still give a sentence", async () => {
  const html = await postJson("/x", {}, { fetchImpl: fakeFetch(502, undefined) });
  assert.match(html.message, /HTTP 502/);
  const down = await postJson("/x", {}, { fetchImpl: async () => { throw new TypeError("Failed to fetch"); } });
  assert.deepEqual([down.ok, down.status], [false, 0]);
  assert.match(down.message, /Could not reach the server: Failed to fetch/);
});

test("paths escape their segments", () => {
  assert.equal(paths.tokenSuccess("t1.ab/c"), "/api/v1/task-tokens/t1.ab%2Fc/success/");
  assert.equal(paths.start("my flow"), "/api/v1/flows/my%20flow/executions/");
  assert.equal(paths.stop("e-1"), "/api/v1/executions/e-1/stop/");
});
