/**
 * Execution page: draw the diagram coloured by state status, list the events, and follow the
 * execution live over a WebSocket (`data-legato-ws`), resuming after the last seq seen.
 * Operator actions (operator-actions-ui.js), waiting callbacks (callbacks-ui.js) and the step
 * panel with live logs (step-panel.js) hang off it; the task attempts come from /states/.
 * Pure state handling lives in viewer-state.js, operator-actions.js and step-detail.js.
 */

import { getJson, paths } from "./api-client.js";
import { CallbackCards } from "./callbacks-ui.js";
import { el, readJsonScript } from "./dom.js";
import { applyStatuses, renderGraph, stateNode } from "./flow-graph.js";
import { elapsedMs, formatClock, formatDateTime, formatDuration, prettyJson, previewJson } from "./format.js";
import { LiveSocket } from "./live-socket.js";
import { affectsAttempts, looksLikeWaiting, waitingCallbacks } from "./operator-actions.js";
import { OperatorActions } from "./operator-actions-ui.js";
import { addLogLines, createLogStore } from "./step-detail.js";
import { StepPanel } from "./step-panel.js";
import {
  applyExecution,
  applyMessage,
  createViewerState,
  eventTone,
  isTerminal,
  lastSeq,
  socketUrl,
  statusLabel,
} from "./viewer-state.js";

const ATTEMPTS_DEBOUNCE_MS = 400;

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
    this.graph = readJsonScript(this.diagram?.dataset.legatoGraph || "legato-graph", null);
    this.types = new Map((this.graph?.nodes || []).filter((n) => n?.state).map((n) => [n.state, n.type || null]));

    // Task attempts from /states/: loaded once, then again (debounced) when events say so.
    this.attempts = { status: "idle", attempts: null, error: "" };
    this.attemptsTimer = null;
    this.attemptsInFlight = false;
    this.attemptsAgain = false;
    this.logs = createLogStore();

    this.actions = new OperatorActions({
      root,
      getState: () => this.state,
      onExecution: (execution) => this.receiveExecution(execution),
    });
    this.callbacks = new CallbackCards(this.q("callbacks"), {
      onSent: () => this.scheduleAttempts(150),
      onShowState: (name) => this.select(name, { scroll: true }),
      canOperate: root.dataset.legatoCanOperate !== "false",
    });
    this.panel = new StepPanel({
      side: this.q("side") || root,
      getState: () => this.state,
      getAttempts: () => this.attempts,
      logs: this.logs,
      typeOf: (name) => this.types.get(name) || null,
      onClose: () => this.select(null),
      onRetry: () => this.loadAttempts(),
    });
  }

  start() {
    this.input = readJsonScript("legato-input", null);
    this.renderPayload(this.q("input"), this.input, "No input.");
    this.actions.start(this.input);
    this.renderExecution();
    this.appendEvents(this.state.events, false);
    this.drawDiagram();
    this.wireSelection();
    if (!isTerminal(this.state.execution.status) && looksLikeWaiting(this.state.events)) this.callbacks.placeholder();
    this.loadAttempts();
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
      g.setAttribute("aria-label", `${g.dataset.state}: show its details, logs and events`);
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
    } else if (stopped && !ex.stopped_at && stopped.hasAttribute("datetime")) {
      // Redriven: running again, so no stop time any more.
      stopped.removeAttribute("datetime");
      stopped.textContent = "";
      this.q("stopped-item").hidden = true;
    }
    this.renderRedrives(ex);
    this.actions.update();
    this.renderOutput(ex);
    this.tickDuration();
    if (isTerminal(ex.status)) this.stopDuration();
    else if (!this.durationTimer) this.durationTimer = setInterval(() => this.tickDuration(), 250);
  }

  renderRedrives(ex) {
    const tag = this.q("redrive-count");
    const count = Number(ex.redrive_count);
    if (!tag || !Number.isFinite(count)) return;
    if (String(count) === tag.dataset.count) return;
    tag.dataset.count = String(count);
    tag.textContent = `Redriven ${count}×`;
    this.q("redrive-item").hidden = count <= 0;
  }

  renderOutput(ex) {
    const terminal = isTerminal(ex.status);
    const waiting = terminal ? "No output." : "Available when the execution succeeds.";
    this.renderPayload(this.q("output"), ex.output, waiting);
    const hasError = Boolean(ex.error || ex.cause);
    const errorSection = this.q("error-section");
    if (errorSection) errorSection.hidden = !hasError;
    if (hasError) {
      const stopped = String(ex.status || "").toUpperCase() === "ABORTED";
      this.q("error").textContent = ex.error || (stopped ? "Aborted" : "(no error name)");
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
    if (this.selected !== null) this.highlight(this.selected);
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

  select(name, { scroll = false } = {}) {
    const previous = this.selected;
    // A state may be named "" (ASL allows it): only null means "nothing selected".
    const chosen = name !== null && name !== undefined;
    this.selected = chosen ? name : null;
    for (const g of this.diagram?.querySelectorAll('g[data-selected="true"]') || []) g.removeAttribute("data-selected");
    if (chosen) stateNode(this.diagram, name)?.setAttribute("data-selected", "true");
    const bar = this.q("selection");
    if (bar) {
      bar.hidden = !chosen;
      this.q("selection-name").textContent = chosen ? name : "";
    }
    this.highlight(this.selected);
    if (chosen) {
      this.panel.open(name);
      if (scroll) this.q("side")?.scrollIntoView({ block: "nearest", behavior: "smooth" });
    } else {
      this.panel.close();
      // Give the keyboard focus back to the node the panel was about.
      if (previous !== null && previous !== undefined && this.panel.view?.contains(document.activeElement)) {
        stateNode(this.diagram, previous)?.focus();
      }
    }
  }

  highlight(name) {
    if (!this.table) return;
    this.table.classList.toggle("is-filtered", name !== null);
    for (const row of this.tbody.rows) {
      row.classList.toggle("is-match", name !== null && row.dataset.state === name);
    }
  }

  /* ---------------------------------------------------------------- live updates */

  startLive() {
    const path = this.root.dataset.legatoWs;
    if (!path || isTerminal(this.state.execution.status) || !("WebSocket" in window)) {
      this.setLive("closed");
      return;
    }
    this.createSocket(path);
    window.addEventListener("pagehide", () => this.socket?.stop());
    // Back/forward cache: the page comes back with its socket stopped; resume it.
    window.addEventListener("pageshow", (event) => {
      if (event.persisted && !isTerminal(this.state.execution.status)) this.socket?.start();
    });
    this.socket.start();
  }

  /** Go live again after a redrive: restart the socket, or open one if the page never had. */
  ensureLive() {
    const path = this.root.dataset.legatoWs;
    if (!path || !("WebSocket" in window) || isTerminal(this.state.execution.status)) return;
    if (!this.socket) {
      this.createSocket(path);
      window.addEventListener("pagehide", () => this.socket?.stop());
    }
    if (this.socket.state === "closed" || this.socket.state === "idle") this.socket.start();
  }

  createSocket(path) {
    this.socket = new LiveSocket({
      url: () => socketUrl(window.location, path, lastSeq(this.state.events)),
      onMessage: (message) => this.receive(message),
      onState: (state) => this.setLive(state),
      shouldReconnect: () => !isTerminal(this.state.execution.status),
    });
  }

  receive(message) {
    if (message?.type === "logs") {
      this.receiveLogs(message);
      return;
    }
    const { state, added } = applyMessage(this.state, message);
    this.state = state;
    if (added.length) this.appendEvents(added, true);
    if (this.diagram) applyStatuses(this.diagram, state.statuses);
    if (message?.execution) this.renderExecution();
    if (added.length) this.panel.refresh();
    if (affectsAttempts(added)) this.scheduleAttempts();
    // Terminal: no more events will come. (A Stop answered from this page may have made the
    // execution terminal before the socket delivered ExecutionAborted; stop after it did.)
    if (isTerminal(state.execution.status) && this.socket && this.socket.state !== "closed") this.socket.stop();
  }

  /** Live log lines of one attempt: keep them, and show them if that attempt is open. */
  receiveLogs(message) {
    const added = addLogLines(this.logs, message.lines, message.attempt);
    if (!added.length) return;
    const known = this.attempts.attempts?.some((a) => a.id === message.attempt);
    const shown = this.panel.appendLogs(message.state, message.attempt, added);
    if (!known || !shown) this.scheduleAttempts();
  }

  /** The answer to Stop or Redrive: the execution as the API sees it now. */
  receiveExecution(execution) {
    const wasTerminal = isTerminal(this.state.execution.status);
    this.state = applyExecution(this.state, execution);
    if (this.diagram) applyStatuses(this.diagram, this.state.statuses);
    this.renderExecution();
    this.panel.refresh();
    const terminal = isTerminal(this.state.execution.status);
    if (wasTerminal && !terminal) {
      this.ensureLive();
    } else if (terminal && this.socket && this.socket.state !== "closed") {
      // Let the socket deliver the closing events (ExecutionAborted…), then close it.
      setTimeout(() => {
        if (isTerminal(this.state.execution.status)) this.socket?.stop();
      }, 3000);
      this.setLive(this.socket.state);
    } else if (terminal) {
      this.setLive("closed");
    }
    this.scheduleAttempts(100);
  }

  /* ---------------------------------------------------------------- task attempts */

  scheduleAttempts(delay = ATTEMPTS_DEBOUNCE_MS) {
    clearTimeout(this.attemptsTimer);
    this.attemptsTimer = setTimeout(() => this.loadAttempts(), delay);
  }

  async loadAttempts() {
    const id = this.state.execution.id;
    if (!id) return;
    if (this.attemptsInFlight) {
      this.attemptsAgain = true;
      return;
    }
    this.attemptsInFlight = true;
    if (this.attempts.status === "idle") this.attempts = { ...this.attempts, status: "loading" };
    const result = await getJson(paths.states(id));
    this.attemptsInFlight = false;
    if (result.ok && Array.isArray(result.data?.results)) {
      for (const attempt of result.data.results) addLogLines(this.logs, attempt.logs, attempt.id);
      this.attempts = { status: "ready", attempts: result.data.results, error: "" };
    } else {
      const message = result.ok ? "The server answered without a list of attempts." : result.message;
      this.attempts = { ...this.attempts, status: "error", error: message };
    }
    const running = !isTerminal(this.state.execution.status);
    if (this.attempts.attempts) this.callbacks.render(running ? waitingCallbacks(this.attempts.attempts) : []);
    else if (!running) this.callbacks.clear();
    this.panel.refresh();
    if (this.attemptsAgain) {
      this.attemptsAgain = false;
      this.scheduleAttempts(0);
    }
  }

  setLive(state) {
    const node = this.q("live");
    if (!node) return;
    node.dataset.live = state;
    node.textContent = isTerminal(this.state.execution.status) && (state === "closed" || state === "idle") ? "Finished" : LIVE_TEXT[state] || state;
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
