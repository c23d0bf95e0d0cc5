/** Formatting of durations and times for people. Pure: no DOM. */

/** "850 ms", "12.3 s", "4m 05s", "2h 03m", "3d 4h". Negative or invalid input gives "". */
export function formatDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
  const total = Math.floor(s);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  const pad = (n) => String(n).padStart(2, "0");
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${pad(m)}m`;
  return `${m}m ${pad(sec)}s`;
}

/** Milliseconds between two ISO timestamps (end defaults to `now`), or NaN. */
export function elapsedMs(startIso, endIso, now = Date.now()) {
  const start = Date.parse(startIso);
  const end = endIso ? Date.parse(endIso) : now;
  return start && end ? end - start : Number.NaN;
}

/** Local wall-clock time with milliseconds, e.g. "14:03:07.412". */
export function formatClock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Local date and time like the server's "M j, H:i:s", e.g. "Nov 27, 10:27:11". */
export function formatDateTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const month = d.toLocaleString("en-US", { month: "short" });
  const pad = (n) => String(n).padStart(2, "0");
  return `${month} ${d.getDate()}, ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Pretty JSON for display; undefined shows as "". */
export function prettyJson(value) {
  if (value === undefined) return "";
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

/** One-line preview of a value, cut to `max` characters. */
export function previewJson(value, max = 120) {
  if (value == null) return "";
  let text;
  try {
    text = JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
