/**
 * JSON requests to Legato's API from the browser session. Pure apart from the injected
 * `fetchImpl` (default: the global fetch), so node tests drive it with a fake.
 *
 * Every call resolves — it never throws — to `{ok, status, data, message}`: `data` is the
 * parsed body (or null), `message` one sentence for a person when `ok` is false.
 */

import { apiErrorMessage } from "./api-error.js";

/**
 * @param {string} url
 * @param {object} [options]
 * @param {string} [options.method]  default GET, or POST when a body is given
 * @param {any} [options.body]       sent as JSON
 * @param {string} [options.csrf]    the CSRF token, sent as X-CSRFToken on writes
 * @param {Function} [options.fetchImpl]
 */
export async function requestJson(url, { method, body, csrf = "", fetchImpl = globalThis.fetch } = {}) {
  const verb = (method || (body === undefined ? "GET" : "POST")).toUpperCase();
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (verb !== "GET" && verb !== "HEAD" && csrf) headers["X-CSRFToken"] = csrf;
  let response;
  try {
    response = await fetchImpl(url, {
      method: verb,
      credentials: "same-origin",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    return { ok: false, status: 0, data: null, message: `Could not reach the server: ${err?.message || err}` };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null; // 204, or an HTML error page from a proxy
  }
  if (response.ok) return { ok: true, status: response.status, data, message: "" };
  return { ok: false, status: response.status, data, message: apiErrorMessage(response.status, data) };
}

/** POST `body` as JSON with the CSRF header. */
export function postJson(url, body, options = {}) {
  return requestJson(url, { ...options, method: "POST", body: body ?? {} });
}

/** GET a JSON document. */
export function getJson(url, options = {}) {
  return requestJson(url, { ...options, method: "GET" });
}

/** The API paths the execution page calls, with every segment escaped. */
export const paths = {
  stop: (id) => `/api/v1/executions/${encodeURIComponent(id)}/stop/`,
  redrive: (id) => `/api/v1/executions/${encodeURIComponent(id)}/redrive/`,
  rerun: (id) => `/api/v1/executions/${encodeURIComponent(id)}/rerun/`,
  states: (id) => `/api/v1/executions/${encodeURIComponent(id)}/states/`,
  start: (flow) => `/api/v1/flows/${encodeURIComponent(flow)}/executions/`,
  tokenSuccess: (token) => `/api/v1/task-tokens/${encodeURIComponent(token)}/success/`,
  tokenFailure: (token) => `/api/v1/task-tokens/${encodeURIComponent(token)}/failure/`,
  executionPage: (id) => `/executions/${encodeURIComponent(id)}/`,
};
