import assert from "node:assert/strict";
import { test } from "node:test";

import { errorOffset, lineColumn, parseJsonInput } from "../../workflows/static/legato/js/json-input.js";

test("valid JSON parses to its value", () => {
  assert.deepEqual(parseJsonInput('{"a": [1, 2]}'), { ok: true, value: { a: [1, 2] } });
  assert.deepEqual(parseJsonInput("42"), { ok: true, value: 42 });
  assert.deepEqual(parseJsonInput("null"), { ok: true, value: null });
});

test("blank input means an empty object", () => {
  assert.deepEqual(parseJsonInput("   \n"), { ok: true, value: {} });
  assert.deepEqual(parseJsonInput(""), { ok: true, value: {} });
});

test("a mistake is reported with its line and column", () => {
  const result = parseJsonInput('{\n  "a": 1,\n  "b": oops\n}');
  assert.equal(result.ok, false);
  assert.equal(result.line, 3);
  assert.equal(result.column, 8);
  assert.match(result.message, /^Invalid JSON at line 3, column 8: /);
});

test("a truncated document points at its end", () => {
  const result = parseJsonInput('{"a": 1');
  assert.equal(result.ok, false);
  assert.equal(result.line, 1);
  assert.match(result.message, /Invalid JSON/);
});

test("line/column arithmetic", () => {
  assert.deepEqual(lineColumn("ab\ncd", 0), { line: 1, column: 1 });
  assert.deepEqual(lineColumn("ab\ncd", 4), { line: 2, column: 2 });
  assert.equal(errorOffset("Unexpected token } in JSON at position 5", ""), 5);
  assert.equal(errorOffset("Bad thing (line 2 column 3)", "abc\ndefg"), 6);
  assert.equal(errorOffset("no idea", "x"), null);
});

test("common mistakes get a plain reason", async () => {
  const { locateJsonError } = await import("../../workflows/static/legato/js/json-input.js");
  assert.equal(locateJsonError('{"a": 1,}').reason, "trailing comma");
  assert.equal(locateJsonError("{'a': 1}").reason, "keys need double quotes");
  assert.equal(locateJsonError('{"a" 1}').offset, 5);
  assert.equal(locateJsonError("[1, 2] x").offset, 7);
  assert.equal(locateJsonError('{"a": [1, {"b": "\\u00e9"}], "c": -1.5e3}'), null);
  assert.match(parseJsonInput('{"a": 1,}').message, /line 1, column 9: trailing comma/);
});
