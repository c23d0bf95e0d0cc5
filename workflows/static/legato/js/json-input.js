/**
 * Parse JSON typed by a person and explain a mistake with a line and column.
 * Pure: no DOM. Used by the start-execution dialog.
 */

/** Line and column (1-based) of a character offset in `text`. */
export function lineColumn(text, offset) {
  const before = text.slice(0, Math.max(0, offset));
  const lines = before.split("\n");
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

/** Character offset named in a JSON.parse error message, or null when the engine gives none. */
export function errorOffset(message, text) {
  const pos = /at position (\d+)/.exec(message);
  if (pos) return Number(pos[1]);
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) {
    const lines = text.split("\n");
    const line = Math.min(Number(lc[1]), lines.length);
    let offset = 0;
    for (let i = 0; i < line - 1; i += 1) offset += lines[i].length + 1;
    return offset + Number(lc[2]) - 1;
  }
  if (/end of (JSON )?input|Unexpected end/i.test(message)) return text.length;
  return null;
}

/**
 * Offset and reason of the first syntax error in `text`, found by a small JSON scanner.
 * Needed because engines word JSON.parse errors differently and V8 often gives no position.
 * Returns null when the scanner finds no error.
 */
export function locateJsonError(text) {
  let i = 0;
  const fail = (reason, at = i) => {
    throw Object.assign(new Error(reason), { offset: at });
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i += 1;
  };
  const describe = () => (i >= text.length ? "unexpected end of input" : `unexpected ${JSON.stringify(text[i])}`);
  const literal = (word) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(describe());
  };
  const string = () => {
    i += 1;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") {
        i += 1;
        if (text[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail("bad \\u escape");
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? "")) fail("bad escape");
      } else if (text.charCodeAt(i) < 0x20) {
        fail("control character in string (use \\n for a new line)");
      }
      i += 1;
    }
    if (i >= text.length) fail("unterminated string");
    i += 1;
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail(describe());
    i += m[0].length;
  };
  const members = (close, item) => {
    i += 1;
    ws();
    if (text[i] === close) {
      i += 1;
      return;
    }
    for (;;) {
      item();
      ws();
      if (text[i] === ",") {
        i += 1;
        ws();
        if (text[i] === close) fail("trailing comma");
      } else if (text[i] === close) {
        i += 1;
        return;
      } else {
        fail(i >= text.length ? "unexpected end of input" : `expected "," or "${close}" but found ${JSON.stringify(text[i])}`);
      }
    }
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === "{") {
      members("}", () => {
        ws();
        if (text[i] !== '"') fail(text[i] === "'" ? "keys need double quotes" : `expected a "quoted" key, ${describe()}`);
        string();
        ws();
        if (text[i] !== ":") fail(`expected ":" after the key, ${describe()}`);
        i += 1;
        value();
      });
    } else if (c === "[") members("]", value);
    else if (c === '"') string();
    else if (c === "t") literal("true");
    else if (c === "f") literal("false");
    else if (c === "n") literal("null");
    else if (c === "'") fail("strings need double quotes");
    else if (c === "-" || (c >= "0" && c <= "9")) number();
    else fail(describe());
  };
  try {
    value();
    ws();
    if (i < text.length) fail(`unexpected ${JSON.stringify(text[i])} after the JSON value`);
    return null;
  } catch (err) {
    return { offset: err.offset, reason: err.message };
  }
}

/**
 * Parse `text` as JSON. Empty or blank text means `emptyValue` (default `{}`).
 * Returns {ok: true, value} or {ok: false, message, line, column}.
 */
export function parseJsonInput(text, { emptyValue = {} } = {}) {
  const source = String(text ?? "");
  if (source.trim() === "") return { ok: true, value: emptyValue };
  try {
    return { ok: true, value: JSON.parse(source) };
  } catch (err) {
    const found = locateJsonError(source);
    const raw = String(err?.message || err).replace(/^JSON\.parse: /, "");
    const offset = found ? found.offset : errorOffset(raw, source);
    const where = offset == null ? null : lineColumn(source, offset);
    const reason = found ? found.reason : raw.replace(/\s*\(line \d+ column \d+\)/, "").replace(/ in JSON at position \d+/, "");
    const message = where
      ? `Invalid JSON at line ${where.line}, column ${where.column}: ${reason}`
      : `Invalid JSON: ${reason}`;
    return { ok: false, message, line: where?.line ?? null, column: where?.column ?? null };
  }
}
