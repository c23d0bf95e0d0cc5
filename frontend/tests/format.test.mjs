import assert from "node:assert/strict";
import { test } from "node:test";

import { elapsedMs, formatDuration, prettyJson, previewJson } from "../../workflows/static/legato/js/format.js";

test("durations read naturally at every scale", () => {
  assert.equal(formatDuration(850), "850 ms");
  assert.equal(formatDuration(1234), "1.23 s");
  assert.equal(formatDuration(12345), "12.3 s");
  assert.equal(formatDuration(245000), "4m 05s");
  assert.equal(formatDuration(7380000), "2h 03m");
  assert.equal(formatDuration(3 * 86400000 + 4 * 3600000), "3d 4h");
  assert.equal(formatDuration(-1), "");
  assert.equal(formatDuration(Number.NaN), "");
});

test("elapsed time runs to now while there is no end", () => {
  const start = "2026-01-01T00:00:00Z";
  assert.equal(elapsedMs(start, "2026-01-01T00:00:02.500Z"), 2500);
  assert.equal(elapsedMs(start, null, Date.parse("2026-01-01T00:01:00Z")), 60000);
  assert.ok(Number.isNaN(elapsedMs("nonsense", null)));
});

test("JSON display helpers", () => {
  assert.equal(prettyJson({ a: 1 }), '{\n  "a": 1\n}');
  assert.equal(prettyJson(undefined), "");
  assert.equal(previewJson({ text: "x".repeat(200) }, 20).length, 20);
  assert.equal(previewJson(null), "");
});
