/**
 * Execution page: draw the diagram coloured by state status, list the events, and follow the
 * execution live over a WebSocket (`data-legato-ws`), resuming after the last seq seen.
 * Pure state handling lives in viewer-state.js; this module only touches the DOM.
 */

import { el, readJsonScript } from "./dom.js";
import { applyStatuses, renderGraph, stateNode } from "./flow-graph.js";
import { elapsedMs, formatClock, formatDateTime, formatDuration, prettyJson, previewJson } from "./format.js";
import { LiveSocket } from "./live-socket.js";
import {
  applyMessage,
  createViewerState,
  eventTone,
  isTerminal,
  lastSeq,
  socketUrl,
  statusLabel,
} from "./viewer-state.js";

const LIVE_TEXT = {
  connecting: "Connecting…",
  connected: "Live",
  reconnecting: "Reconnecting…",
  closed: "Not live",
};

class ExecutionPage {
  constructor(root) {
    this.root = root;
    this.q = (name) => root.querySelector(`[data-legato-${name}]`);
    this.state = createViewerState({
      events: readJsonScript("legato-events", []),
      statuses: readJsonScript("legato-statuses", {}),
      execution: readJsonScript("legato-execution", {}),
    });
    this.diagram = this.q("graph");
    this.tbody = this.q("events-body");
    this.table = this.q("events");
    this.selected = null;
    this.durationTimer = null;
    this.socket = null;
  }

  start() {
    this.renderPayload(this.q("input"), readJsonScript("legato-input", null), "No input.");
    this.renderExecution();
    this.appendEvents(this.state.events, false);
    this.drawDiagram();
    this.wireSelection();
    this.startLive();
  }

  async drawDiagram() {
    if (!this.diagram) return;
    const svg = await renderGraph(this.diagram, readJsonScript(this.diagram.dataset.legatoGraph));
    if (!svg) return;
    applyStatuses(this.diagram, this.state.statuses);
    for (const g of svg.querySelectorAll("g[data-state]")) {
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      g.setAttribute("aria-label", `${g.dataset.state}: show its events`);
    }
  }

  /* ---------------------------------------------------------------- header and panels */

  renderExecution() {
    const ex = this.state.execution;
    const badge = this.q("status-badge");
    if (badge && ex.status) {
      badge.dataset.status = String(ex.status).toLowerCase();
      badge.textContent = statusLabel(ex.status);
    }
    const stopped = this.q("stopped");
    // The server rendered the stop time if it knew it; fill it in only when it arrives live.
    if (stopped && ex.stopped_at && !stopped.hasAttribute("datetime")) {
      stopped.textContent = formatDateTime(ex.stopped_at);
      stopped.setAttribute("datetime", ex.stopped_at);
      this.q("stopped-item").hidden = false;
    }
    this.renderOutput(ex);
    this.tickDuration();
    if (isTerminal(ex.status)) this.stopDuration();
    else if (!this.durationTimer) this.durationTimer = setInterval(() => this.tickDuration(), 250);
  }

  renderOutput(ex) {
    const terminal = isTerminal(ex.status);
    const waiting = terminal ? "No output." : "Available when the execution succeeds.";
    this.renderPayload(this.q("output"), ex.output, waiting);
    const hasError = Boolean(ex.error || ex.cause);
    const errorSection = this.q("error-section");
    if (errorSection) errorSection.hidden = !hasError;
    if (hasError) {
      this.q("error").textContent = ex.error || "(no error name)";
      this.q("cause").textContent = formatCause(ex.cause);
    }
  }

  renderPayload(pre, value, emptyText) {
    if (!pre) return;
    const empty = value === null || value === undefined;
    pre.textContent = empty ? emptyText : prettyJson(value);
    pre.classList.toggle("code--empty", empty);
  }

  tickDuration() {
    const node = this.q("duration");
    const ex = this.state.execution;
    if (!node || !ex.started_at) return;
    const text = formatDuration(elapsedMs(ex.started_at, ex.stopped_at));
    if (text && node.textContent !== text) node.textContent = text;
  }

  stopDuration() {
    clearInterval(this.durationTimer);
    this.durationTimer = null;
  }

  /* ---------------------------------------------------------------- events table */

  appendEvents(events, live) {
    if (!this.tbody) return;
    const rows = events.map((event) => this.eventRow(event, live));
    this.tbody.append(...rows);
    const count = this.state.events.length;
    const empty = this.q("events-empty");
    if (empty) empty.hidden = count > 0;
    const counter = this.q("events-count");
    if (counter) counter.textContent = `${count} event${count === 1 ? "" : "s"}`;
    if (this.selected) this.highlight(this.selected);
  }

  eventRow(event, live) {
    const started = this.state.execution.started_at;
    const offset = started ? elapsedMs(started, event.timestamp) : Number.NaN;
    const hasDetails = event.details != null && !(typeof event.details === "object" && Object.keys(event.details).length === 0);
    const details = hasDetails
      ? el("details", {}, [
        el("summary", { text: previewJson(event.details, 90) }),
        el("pre", { class: "code", text: prettyJson(event.details) }),
      ])
      : el("span", { class: "faint", text: "—" });
    const stateCell = event.state
      ? el("button", { type: "button", class: "state-link", title: "Show only this state's events", "data-legato-pick-state": event.state, text: event.state })
      : el("span", { class: "faint", text: "—" });
    return el("tr", {
      class: live ? "is-new" : null,
      "data-seq": event.seq,
      "data-state": event.state ?? null,
      "data-tone": eventTone(event.type),
    }, [
      el("td", { class: "num mono", text: event.seq }),
      el("td", { class: "nowrap mono", title: event.timestamp || "" }, [
        formatClock(event.timestamp),
        Number.isFinite(offset) ? el("span", { class: "elapsed", text: `+${formatDuration(Math.max(0, offset))}` }) : null,
      ]),
      el("td", {}, el("span", { class: "event-type", text: event.type })),
      el("td", {}, stateCell),
      el("td", {}, details),
    ]);
  }

  /* ---------------------------------------------------------------- selection */

  wireSelection() {
    const pick = (name) => this.select(this.selected === name ? null : name);
    this.diagram?.addEventListener("click", (event) => {
      const g = event.target.closest("g[data-state]");
      if (g) pick(g.dataset.state);
    });
    this.diagram?.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" && event.key !== " ") return;
      const g = event.target.closest("g[data-state]");
      if (!g) return;
      event.preventDefault();
      pick(g.dataset.state);
    });
    this.tbody?.addEventListener("click", (event) => {
      const button = event.target.closest("[data-legato-pick-state]");
      if (button) pick(button.dataset.legatoPickState);
    });
    this.q("selection-clear")?.addEventListener("click", () => this.select(null));
  }

  select(name) {
    this.selected = name;
    for (const g of this.diagram?.querySelectorAll('g[data-selected="true"]') || []) g.removeAttribute("data-selected");
    if (name) stateNode(this.diagram, name)?.setAttribute("data-selected", "true");
    const bar = this.q("selection");
    if (bar) {
      bar.hidden = !name;
      this.q("selection-name").textContent = name || "";
    }
    this.highlight(name);
  }

  highlight(name) {
    if (!this.table) return;
    this.table.classList.toggle("is-filtered", Boolean(name));
    for (const row of this.tbody.rows) {
      row.classList.toggle("is-match", Boolean(name) && row.dataset.state === name);
    }
  }

  /* ---------------------------------------------------------------- live updates */

  startLive() {
    const path = this.root.dataset.legatoWs;
    if (!path || isTerminal(this.state.execution.status) || !("WebSocket" in window)) {
      this.setLive("closed");
      return;
    }
    this.socket = new LiveSocket({
      url: () => socketUrl(window.location, path, lastSeq(this.state.events)),
      onMessage: (message) => this.receive(message),
      onState: (state) => this.setLive(state),
      shouldReconnect: () => !isTerminal(this.state.execution.status),
    });
    window.addEventListener("pagehide", () => this.socket?.stop());
    // Back/forward cache: the page comes back with its socket stopped; resume it.
    window.addEventListener("pageshow", (event) => {
      if (event.persisted && !isTerminal(this.state.execution.status)) this.socket?.start();
    });
    this.socket.start();
  }

  receive(message) {
    const before = this.state.execution.status;
    const { state, added } = applyMessage(this.state, message);
    this.state = state;
    if (added.length) this.appendEvents(added, true);
    if (this.diagram) applyStatuses(this.diagram, state.statuses);
    if (message?.execution) this.renderExecution();
    if (isTerminal(state.execution.status) && !isTerminal(before)) this.socket?.stop();
  }

  setLive(state) {
    const node = this.q("live");
    if (!node) return;
    node.dataset.live = state;
    node.textContent = isTerminal(this.state.execution.status) && state === "closed" ? "Finished" : LIVE_TEXT[state] || state;
  }
}

/** A Cause is often a JSON string (as in Step Functions): show it indented when it is. */
function formatCause(cause) {
  if (cause == null || cause === "") return "";
  if (typeof cause !== "string") return prettyJson(cause);
  const trimmed = cause.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return prettyJson(JSON.parse(trimmed));
    } catch {
      /* not JSON after all */
    }
  }
  return cause;
}

const root = document.querySelector("[data-legato-execution-page]");
if (root) new ExecutionPage(root).start();
