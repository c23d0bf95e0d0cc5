import assert from "node:assert/strict";
import { test } from "node:test";

import { apiErrorMessage } from "../../workflows/static/legato/js/api-error.js";

test("Legato's error envelope shows message and code", () => {
  const body = { error: { code: "ExecutionAlreadyExists", message: "An execution named x exists.", details: [] } };
  assert.equal(apiErrorMessage(409, body), "An execution named x exists. (ExecutionAlreadyExists)");
});

test("details are appended when they add something", () => {
  const body = { error: { code: "InvalidInput", message: "Bad input.", details: [{ message: "too big" }] } };
  assert.equal(apiErrorMessage(400, body), "Bad input. (InvalidInput) too big");
});

test("DRF detail and field errors are readable", () => {
  assert.equal(apiErrorMessage(403, { detail: "CSRF Failed: CSRF token missing." }), "CSRF Failed: CSRF token missing.");
  assert.equal(apiErrorMessage(400, { input: ["This field is required."] }), "input: This field is required.");
});

test("no body falls back to the HTTP status", () => {
  assert.match(apiErrorMessage(502, null), /HTTP 502/);
  assert.match(apiErrorMessage(404, null), /Not found/);
  assert.match(apiErrorMessage(418, null), /HTTP 418/);
});
