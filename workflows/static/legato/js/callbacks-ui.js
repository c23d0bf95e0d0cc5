/**
 * "Waiting for a callback" cards: one per task attempt waiting for its task token (manual
 * approval, an activity, an external system). Approve sends the JSON output to
 * /task-tokens/{t}/success/, Reject sends an error and cause to /failure/.
 * Cards are keyed by attempt id, so a refresh keeps what someone is typing.
 */

import { paths, postJson } from "./api-client.js";
import { csrfToken, el } from "./dom.js";
import { elapsedMs, formatClock, formatDuration, previewJson, prettyJson } from "./format.js";
import { parseJsonInput } from "./json-input.js";
import { failureBody } from "./operator-actions.js";
import { attemptTitle } from "./step-detail.js";

let uid = 0;

const ICON_PATH = "M12 7v5l3 2M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z";

function icon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICON_PATH);
  svg.append(path);
  return svg;
}

export class CallbackCards {
  /**
   * @param {Element} container  `[data-legato-callbacks]`
   * @param {object} options
   * @param {() => void} options.onSent  a callback was accepted: refresh the attempts
   * @param {(state: string) => void} [options.onShowState]  open the step panel for a state
   */
  constructor(container, { onSent, onShowState = () => {}, canOperate = true }) {
    this.container = container;
    this.canOperate = canOperate;
    this.onSent = onSent;
    this.onShowState = onShowState;
    this.cards = new Map(); // attempt id -> {node, attempt, sent}
    this.timer = null;
  }

  /** Reserve the room for a card before /states/ answers, so the page does not jump. */
  placeholder() {
    if (!this.container || this.cards.size) return;
    this.container.hidden = false;
    this.container.replaceChildren(
      el("div", { class: "card callback callback--loading", role: "status" }, [
        el("div", { class: "callback__header" }, [
          el("span", { class: "callback__icon" }, icon()),
          el("div", { class: "callback__heading" }, [
            el("p", { class: "callback__title", text: "Waiting for a callback…" }),
            el("p", { class: "callback__meta" }, [el("span", { class: "spinner", "aria-hidden": "true" }), " Loading the task token"]),
          ]),
        ]),
      ]),
    );
  }

  /** Show exactly the cards for `waiting` (attempts with a token). */
  render(waiting) {
    if (!this.container) return;
    const keep = new Set(waiting.map((a) => a.id));
    for (const [id, card] of this.cards) {
      if (!keep.has(id)) {
        card.node.remove();
        this.cards.delete(id);
      }
    }
    this.container.querySelector(".callback--loading")?.remove();
    for (const attempt of waiting) {
      const existing = this.cards.get(attempt.id);
      if (existing) {
        existing.attempt = attempt;
        continue;
      }
      const card = this.card(attempt);
      this.cards.set(attempt.id, card);
      this.container.append(card.node);
    }
    this.container.hidden = this.cards.size === 0;
    this.tick();
    clearInterval(this.timer);
    this.timer = this.cards.size ? setInterval(() => this.tick(), 1000) : null;
  }

  /** Hide everything (the execution ended). */
  clear() {
    this.render([]);
  }

  tick() {
    for (const { node, attempt } of this.cards.values()) {
      const since = node.querySelector("[data-legato-waiting-for]");
      const from = attempt.finished_at || attempt.started_at || attempt.scheduled_at;
      if (since && from) since.textContent = formatDuration(Math.max(0, elapsedMs(from, null)));
    }
  }

  card(attempt) {
    const n = (uid += 1);
    const from = attempt.finished_at || attempt.started_at || attempt.scheduled_at;
    const stateButton = el("button", { type: "button", class: "state-link", text: attempt.state, title: "Show this state's details" });
    stateButton.addEventListener("click", () => this.onShowState(attempt.state));

    const outputId = `cb-output-${n}`;
    const output = el("textarea", {
      class: "textarea textarea--code textarea--short",
      id: outputId,
      name: "output",
      rows: "3",
      spellcheck: "false",
      "aria-describedby": `${outputId}-error`,
    });
    output.value = "{}";
    const outputError = el("p", { class: "field__error", id: `${outputId}-error`, "aria-live": "polite" });
    const approve = el("button", { class: "btn btn--success", type: "submit" }, [
      el("span", { class: "spinner", "aria-hidden": "true" }),
      "Approve",
    ]);
    const approveForm = el("form", { class: "callback__form", novalidate: true, "aria-label": `Approve ${attempt.state}` }, [
      el("div", { class: "field" }, [
        el("label", { class: "field__label", for: outputId }, ["Output ", el("span", { class: "muted", text: "(JSON, becomes the task's result)" })]),
        output,
        outputError,
      ]),
      el("div", { class: "callback__actions" }, approve),
    ]);

    const errorId = `cb-error-${n}`;
    const causeId = `cb-cause-${n}`;
    const errorName = el("input", { class: "input", id: errorId, name: "error", type: "text", maxlength: "256", autocomplete: "off", placeholder: "Rejected" });
    const cause = el("input", { class: "input", id: causeId, name: "cause", type: "text", maxlength: "32768", autocomplete: "off", placeholder: "Why it is rejected" });
    const reject = el("button", { class: "btn btn--danger-outline", type: "submit" }, [
      el("span", { class: "spinner", "aria-hidden": "true" }),
      "Reject",
    ]);
    const rejectForm = el("form", { class: "callback__form", novalidate: true, "aria-label": `Reject ${attempt.state}` }, [
      el("div", { class: "callback__pair" }, [
        el("div", { class: "field" }, [el("label", { class: "field__label", for: errorId, text: "Error name" }), errorName]),
        el("div", { class: "field" }, [el("label", { class: "field__label", for: causeId }, ["Cause ", el("span", { class: "muted", text: "(optional)" })]), cause]),
      ]),
      el("div", { class: "callback__actions" }, reject),
    ]);

    const failure = el("div", { class: "alert alert--error", role: "alert", hidden: true }, el("div", { class: "alert__body" }, [
      el("span", { class: "alert__title", text: "The callback was not accepted" }),
      el("span", { "data-legato-callback-error": "" }),
    ]));
    const done = el("div", { class: "alert alert--success", role: "status", hidden: true }, el("div", { class: "alert__body" }, [
      el("span", { class: "alert__title", "data-legato-callback-done": "" }),
      el("span", { text: "The execution continues; this card goes away when the task finishes." }),
    ]));

    const meta = [
      el("span", { class: "mono", text: attempt.resource || "" }),
      el("span", { text: attemptTitle(attempt) }),
      from ? el("span", {}, ["waiting ", el("strong", { "data-legato-waiting-for": "" }), ` since ${formatClock(from).slice(0, 8)}`]) : null,
    ].filter(Boolean);
    const metaLine = el("p", { class: "callback__meta" });
    meta.forEach((part, i) => {
      if (i) metaLine.append(el("span", { class: "callback__sep", "aria-hidden": "true", text: "·" }));
      metaLine.append(part);
    });

    const inputPreview = attempt.input === undefined || attempt.input === null
      ? null
      : el("details", { class: "callback__input" }, [
        el("summary", {}, ["Task input ", el("span", { class: "mono faint", text: previewJson(attempt.input, 80) })]),
        el("pre", { class: "code code--side", text: prettyJson(attempt.input) }),
      ]);

    const node = el("article", { class: "card callback", "data-attempt": attempt.id, "data-state": attempt.state, "aria-label": `Waiting for a callback: ${attempt.state}` }, [
      el("div", { class: "callback__header" }, [
        el("span", { class: "callback__icon" }, icon()),
        el("div", { class: "callback__heading" }, [
          el("h2", { class: "callback__title" }, ["Waiting for a callback — ", stateButton]),
          metaLine,
        ]),
        el("code", { class: "callback__token", title: `Task token: ${attempt.token}`, text: attempt.token }),
      ]),
      el("div", { class: "callback__body" }, [
        inputPreview,
        this.canOperate
          ? el("div", { class: "callback__forms" }, [approveForm, el("div", { class: "callback__or", "aria-hidden": "true", text: "or" }), rejectForm])
          : el("p", { class: "step__note", text: "An operator can approve or reject this task here; your role can only view it." }),
        failure,
        done,
      ]),
    ]);

    const card = { node, attempt, sent: false };
    const setBusy = (button, on) => {
      for (const b of [approve, reject]) b.disabled = on || card.sent;
      if (on) button.setAttribute("aria-busy", "true");
      else button.removeAttribute("aria-busy");
    };
    const showFailure = (message) => {
      failure.hidden = !message;
      failure.querySelector("[data-legato-callback-error]").textContent = message || "";
    };
    const send = async (button, url, body, doneText) => {
      showFailure("");
      setBusy(button, true);
      const result = await postJson(url, body, { csrf: csrfToken() });
      if (!result.ok) {
        setBusy(button, false);
        showFailure(result.message);
        return;
      }
      card.sent = true;
      setBusy(button, false);
      for (const field of node.querySelectorAll("textarea, input")) field.disabled = true;
      done.querySelector("[data-legato-callback-done]").textContent = doneText;
      done.hidden = false;
      node.classList.add("callback--sent");
      this.onSent();
    };

    output.addEventListener("input", () => {
      outputError.textContent = "";
      output.setAttribute("aria-invalid", "false");
    });
    approveForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (card.sent || approve.disabled) return;
      const parsed = parseJsonInput(output.value);
      if (!parsed.ok) {
        outputError.textContent = parsed.message;
        output.setAttribute("aria-invalid", "true");
        output.focus();
        return;
      }
      send(approve, paths.tokenSuccess(card.attempt.token), { output: parsed.value }, "Approved");
    });
    rejectForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (card.sent || reject.disabled) return;
      send(reject, paths.tokenFailure(card.attempt.token), failureBody(errorName.value, cause.value), "Rejected");
    });
    return card;
  }
}
