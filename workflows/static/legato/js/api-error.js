/**
 * Turn an API error response into one sentence for a person.
 * Knows Legato's `{"error": {"code", "message", "details"}}` and DRF's `{"detail": …}` and
 * field-error shapes. Pure: no DOM, no fetch.
 */

function flatten(value) {
  if (value == null) return "";
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(flatten).filter(Boolean).join(" ");
  if (typeof value === "object") {
    if (typeof value.message === "string") return value.message;
    return Object.entries(value)
      .map(([key, v]) => `${key}: ${flatten(v)}`)
      .join("; ");
  }
  return String(value);
}

const STATUS_TEXT = {
  400: "The request was not accepted.",
  401: "You are not signed in. Reload the page and sign in again.",
  403: "You are not allowed to do this (or the page's security token expired — reload and retry).",
  404: "Not found.",
  409: "Conflict with the current state.",
  413: "The input is too large.",
  429: "Too many requests — wait a moment and retry.",
};

/** Message for a failed response with HTTP `status` and parsed JSON `body` (may be null). */
export function apiErrorMessage(status, body) {
  if (body && typeof body === "object") {
    const err = body.error;
    if (err && typeof err === "object") {
      const head = err.message || err.code || "";
      const details = Array.isArray(err.details)
        ? err.details.map(flatten).filter(Boolean).join(" ")
        : "";
      const code = err.code && err.message ? ` (${err.code})` : "";
      const text = `${head}${code}`.trim();
      if (text || details) return details && !text.includes(details) ? `${text} ${details}`.trim() : text;
    }
    if (typeof err === "string" && err) return err;
    if (body.detail != null) return flatten(body.detail);
    const fields = flatten(body);
    if (fields) return fields;
  }
  if (status >= 500) return `The server failed (HTTP ${status}). Try again, or check the server log.`;
  return STATUS_TEXT[status] || `Request failed (HTTP ${status}).`;
}
