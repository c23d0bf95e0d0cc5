/**
 * The step panel: the side card shows one state instead of the execution — its latest input
 * and output from the history, and its task attempts (status, timing, error, log lines).
 * Live log lines are appended to the open attempt without redrawing the panel.
 * The model is in step-detail.js; this module only builds DOM.
 */

import { el } from "./dom.js";
import { formatClock, formatDuration, prettyJson } from "./format.js";
import {
  attemptStatusLabel,
  attemptTiming,
  attemptTitle,
  attemptTone,
  attemptsFor,
  levelTone,
  logLinesFor,
  stateSummary,
} from "./step-detail.js";

const NODE_LABELS = {
  pending: "Not started",
  running: "Running",
  succeeded: "Succeeded",
  failed: "Failed",
  caught: "Caught",
  aborted: "Aborted",
};

/** Task-like state types: the ones that have attempts. */
const ATTEMPT_TYPES = new Set(["Task"]);

export class StepPanel {
  /**
   * @param {object} options
   * @param {Element} options.side          the aside card
   * @param {() => object} options.getState  viewer state ({events, statuses, execution})
   * @param {() => {status: string, attempts: any[]|null, error: string}} options.getAttempts
   * @param {Map} options.logs               the log store (step-detail.js)
   * @param {(name: string) => string|null} options.typeOf  a state's Type from the diagram
   * @param {() => void} options.onClose
   * @param {() => void} options.onRetry    load the attempts again
   */
  constructor(options) {
    Object.assign(this, options);
    const q = (name) => this.side.querySelector(`[data-legato-${name}]`);
    this.execView = q("exec-view");
    this.view = q("step-view");
    this.nameNode = q("step-name");
    this.typeNode = q("step-type");
    this.statusNode = q("step-status");
    this.subNode = q("step-sub");
    this.body = q("step-body");
    this.alertSlot = q("step-alert");
    this.countNode = q("step-count");
    this.tabs = [...this.side.querySelectorAll("[data-legato-step-tab]")];
    this.tab = null; // the tab someone chose; null = the default for the state's type
    this.name = null;
    this.timer = null;
    for (const tab of this.tabs) {
      tab.addEventListener("click", () => this.choose(tab.dataset.legatoStepTab));
      tab.addEventListener("keydown", (event) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (!step) return;
        const i = this.tabs.indexOf(tab);
        const next = this.tabs[(i + step + this.tabs.length) % this.tabs.length];
        this.choose(next.dataset.legatoStepTab);
        next.focus();
      });
    }
    for (const b of this.side.querySelectorAll("[data-legato-step-close]")) b.addEventListener("click", () => this.onClose());
    this.view?.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.onClose();
    });
  }

  choose(tab) {
    this.tab = tab;
    this.render({ keepScroll: false });
  }

  /** The tab to show: the chosen one, else Attempts for a Task and Input for the rest. */
  activeTab(type) {
    if (this.tab) return this.tab;
    return !type || ATTEMPT_TYPES.has(type) ? "attempts" : "input";
  }

  get isOpen() {
    return this.name != null;
  }

  open(name) {
    if (!this.view) return;
    const changed = this.name !== name;
    this.name = name;
    this.execView.hidden = true;
    this.view.hidden = false;
    this.render({ keepScroll: !changed });
    if (changed) this.view.scrollTop = 0;
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), 1000);
  }

  close() {
    if (!this.view) return;
    clearInterval(this.timer);
    this.timer = null;
    this.name = null;
    this.view.hidden = true;
    this.execView.hidden = false;
  }

  /** Redraw for new events or attempts; keeps which attempts are expanded and the scroll. */
  refresh() {
    if (this.isOpen) this.render({ keepScroll: true });
  }

  render({ keepScroll }) {
    const name = this.name;
    const { events, statuses } = this.getState();
    const summary = stateSummary(events, name);
    const status = statuses[name] || summary.status || "pending";
    const type = this.typeOf(name);

    this.nameNode.textContent = name;
    this.typeNode.hidden = !type;
    this.typeNode.textContent = type || "";
    this.statusNode.hidden = false;
    this.statusNode.dataset.status = status;
    this.statusNode.textContent = NODE_LABELS[status] || status;
    this.subNode.textContent = summary.runs === 0
      ? "Has not run in this execution."
      : [
        summary.enteredAt ? `Entered ${formatClock(summary.enteredAt)}` : null,
        summary.runs > 1 ? `${summary.runs} runs, showing the latest` : null,
      ].filter(Boolean).join(" · ");

    const scroll = this.view.scrollTop;
    const logScroll = new Map(
      [...this.body.querySelectorAll("[data-legato-attempt-log]")].map((log) => [
        log.dataset.legatoAttemptLog,
        { top: log.scrollTop, bottom: log.scrollHeight - log.scrollTop - log.clientHeight < 24 },
      ]),
    );
    const openAttempts = new Set(
      [...this.body.querySelectorAll("details.attempt[open]")].map((d) => d.dataset.attempt),
    );
    const closedAttempts = new Set(
      [...this.body.querySelectorAll("details.attempt:not([open])")].map((d) => d.dataset.attempt),
    );

    const active = this.activeTab(type);
    // On the attempts tab the failed attempt already shows the same error.
    const shownByAttempt = active === "attempts"
      && attemptsFor(this.getAttempts().attempts, name).some((a) => a.error === summary.error && (a.cause || null) === (summary.cause || null));
    this.alertSlot.replaceChildren(...((summary.error || summary.cause) && !shownByAttempt
      ? [el("div", { class: "alert alert--error step__alert" }, el("div", { class: "alert__body" }, [
        el("span", { class: "alert__title", text: summary.error || "Failed" }),
        summary.cause ? el("pre", { class: "code--wrap", text: String(summary.cause) }) : null,
      ]))]
      : []));

    const count = attemptsFor(this.getAttempts().attempts, name).length;
    this.countNode.hidden = count === 0;
    this.countNode.textContent = String(count);
    for (const tab of this.tabs) {
      const selected = tab.dataset.legatoStepTab === active;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      if (selected) this.body.setAttribute("aria-labelledby", tab.id);
    }

    let content;
    if (active === "input") content = this.payload(summary.input, summary.runs ? "No input recorded." : "Not entered yet.");
    else if (active === "output") content = this.payload(summary.output, outputPlaceholder(summary, status));
    else content = this.attemptsSection(name, type, summary, { openAttempts, closedAttempts });
    this.body.replaceChildren(content);
    if (keepScroll) this.view.scrollTop = scroll;
    // Logs keep where they were scrolled; a running one (or one followed to the end) shows its tail.
    for (const log of this.body.querySelectorAll("[data-legato-attempt-log]")) {
      const was = logScroll.get(log.dataset.legatoAttemptLog);
      const running = log.closest(".attempt")?.dataset.status === "running";
      if (was ? was.bottom : running) log.scrollTop = log.scrollHeight;
      else if (was) log.scrollTop = was.top;
    }
  }

  /** Tick the running attempts' durations. */
  tick() {
    const { attempts } = this.getAttempts();
    for (const node of this.body.querySelectorAll("[data-legato-attempt-duration]")) {
      const attempt = attempts?.find((a) => String(a.id) === node.dataset.legatoAttemptDuration);
      if (!attempt) continue;
      const tone = attemptTone(attempt.status);
      if (tone !== "running" && tone !== "waiting") continue;
      const ran = attemptTiming(attempt).ran;
      if (Number.isFinite(ran)) node.textContent = formatDuration(Math.max(0, ran));
    }
  }

  payload(value, emptyText) {
    const empty = value === undefined;
    return el("pre", { class: `code code--step${empty ? " code--empty" : ""}`, text: empty ? emptyText : prettyJson(value) });
  }

  attemptsSection(name, type, summary, memory) {
    const { status, attempts, error } = this.getAttempts();
    const mine = attemptsFor(attempts, name);
    const section = el("div", { "data-legato-attempts": "" });
    if (mine.length) {
      const list = el("div", { class: "attempts" });
      mine.forEach((attempt, index) => list.append(this.attemptNode(attempt, index === 0, memory)));
      section.append(list);
      if (status === "error") section.append(this.loadError(error, true));
      return section;
    }
    if (status === "loading" || status === "idle") {
      section.append(el("p", { class: "step__note", role: "status" }, [el("span", { class: "spinner", "aria-hidden": "true" }), " Loading task attempts…"]));
    } else if (status === "error") {
      section.append(this.loadError(error, false));
    } else if (type && !ATTEMPT_TYPES.has(type)) {
      section.append(el("p", { class: "step__note", text: `None: a ${type} state runs inside the engine, without task attempts or logs.` }));
    } else if (summary.runs === 0) {
      section.append(el("p", { class: "step__note", text: "None yet: attempts and their log lines appear here when the state runs." }));
    } else {
      section.append(el("p", { class: "step__note", text: "No task attempts for this state." }));
    }
    return section;
  }

  loadError(message, stale) {
    const retry = el("button", { class: "btn btn--sm", type: "button", text: "Retry" });
    retry.addEventListener("click", () => this.onRetry());
    return el("div", { class: "alert alert--error step__alert", role: "alert" }, [
      el("div", { class: "alert__body" }, [
        el("span", { class: "alert__title", text: stale ? "Could not refresh the attempts" : "Could not load the attempts" }),
        el("span", { text: message || "" }),
      ]),
      el("span", { class: "spacer" }),
      retry,
    ]);
  }

  attemptNode(attempt, latest, { openAttempts, closedAttempts }) {
    const id = String(attempt.id);
    const tone = attemptTone(attempt.status);
    const timing = attemptTiming(attempt);
    const open = openAttempts.has(id) || (!closedAttempts.has(id) && (latest || tone === "running" || tone === "waiting"));
    const duration = Number.isFinite(timing.ran) ? formatDuration(Math.max(0, timing.ran)) : "";

    const facts = el("dl", { class: "facts" });
    const fact = (label, value, cls) => {
      if (value == null || value === "") return;
      facts.append(el("div", { class: "facts__row" }, [el("dt", { text: label }), el("dd", { class: cls || null, text: value })]));
    };
    fact("Resource", attempt.resource, "mono");
    if (attempt.started_at) {
      const queued = Number.isFinite(timing.queued) && timing.queued >= 1 ? ` · queued ${formatDuration(timing.queued)}` : "";
      fact("Started", `${formatClock(attempt.started_at)}${queued}`, "mono");
    } else {
      fact("Scheduled", attempt.scheduled_at ? `${formatClock(attempt.scheduled_at)} · not started yet` : "", "mono");
    }
    if (attempt.finished_at && tone !== "waiting") fact("Finished", formatClock(attempt.finished_at), "mono");
    if (attempt.waiting_for_token && attempt.token) fact("Task token", attempt.token, "mono facts__token");

    const error = attempt.error || attempt.cause
      ? el("div", { class: "alert alert--error step__alert" }, el("div", { class: "alert__body" }, [
        el("span", { class: "alert__title", text: attempt.error || "Error" }),
        attempt.cause ? el("pre", { class: "code--wrap", text: String(attempt.cause) }) : null,
      ]))
      : null;

    const lines = logLinesFor(this.logs, attempt.id);
    const log = el("ol", { class: "log", "data-legato-attempt-log": id, "aria-label": `Log of ${attemptTitle(attempt)}` });
    for (const line of lines) log.append(logLine(line));
    const empty = el("p", {
      class: "log__empty",
      "data-legato-log-empty": id,
      hidden: lines.length > 0,
      text: tone === "running" || tone === "pending" ? "No log lines yet — they stream in while the task runs." : "The handler logged nothing.",
    });

    return el("details", { class: "attempt", "data-attempt": id, "data-status": tone, open }, [
      el("summary", { class: "attempt__summary" }, [
        el("span", { class: "attempt__title", text: attemptTitle(attempt) }),
        el("span", { class: "badge attempt__badge", "data-status": tone, text: attemptStatusLabel(attempt.status) }),
        el("span", { class: "spacer" }),
        el("span", { class: "attempt__duration", "data-legato-attempt-duration": id, text: duration }),
      ]),
      el("div", { class: "attempt__body" }, [
        facts,
        error,
        el("div", { class: "attempt__log-title" }, [
          el("span", { text: "Logs" }),
          el("span", { class: "faint", "data-legato-log-count": id, text: lines.length ? `${lines.length} line${lines.length === 1 ? "" : "s"}` : "" }),
        ]),
        log,
        empty,
      ]),
    ]);
  }

  /**
   * Append live lines to an attempt shown in the open panel. Returns false when that
   * attempt is not on screen (the caller then reloads the attempts).
   */
  appendLogs(state, attemptId, lines) {
    if (!this.isOpen || this.name !== state) return true;
    const id = String(attemptId);
    const log = this.body.querySelector(`[data-legato-attempt-log="${CSS.escape(id)}"]`);
    if (!log) return false;
    const follow = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
    for (const line of lines) log.append(logLine(line, true));
    const total = log.children.length;
    const empty = this.body.querySelector(`[data-legato-log-empty="${CSS.escape(id)}"]`);
    if (empty) empty.hidden = total > 0;
    const count = this.body.querySelector(`[data-legato-log-count="${CSS.escape(id)}"]`);
    if (count) count.textContent = `${total} line${total === 1 ? "" : "s"}`;
    if (follow) log.scrollTop = log.scrollHeight;
    return true;
  }
}

function outputPlaceholder(summary, status) {
  if (summary.runs === 0) return "Not entered yet.";
  if (status === "running") return "Available when the state exits.";
  if (summary.exitedAt) return "No output recorded.";
  return "No output: the state did not exit normally.";
}

function logLine(line, live = false) {
  const tone = levelTone(line.level);
  return el("li", { class: `log__line${live ? " is-new" : ""}`, "data-level": tone, "data-seq": line.seq }, [
    el("time", { class: "log__time", datetime: line.timestamp || null, text: formatClock(line.timestamp) }),
    el("span", { class: "log__level", text: String(line.level || "INFO").toUpperCase() }),
    el("span", { class: "log__message", text: line.message ?? "" }),
  ]);
}
