/**
 * The execution page's operator actions: the header buttons (Stop, Redrive, Re-run from
 * state…, Start again…) and their dialogs. The buttons follow the live status; each dialog
 * validates here, calls the API, shows the API's message on failure, and keeps its button
 * disabled while the request is in flight. Decisions live in operator-actions.js.
 */

import { paths, postJson } from "./api-client.js";
import { csrfToken, el } from "./dom.js";
import { parseJsonInput } from "./json-input.js";
import {
  availableActions,
  candidateLabel,
  defaultRerunState,
  reasonError,
  rerunCandidates,
  stopBody,
} from "./operator-actions.js";

/** One `<dialog data-legato-dialog>` with a form, an error box and a busy submit button. */
class ActionDialog {
  constructor(dialog) {
    this.dialog = dialog;
    this.form = dialog.querySelector("form");
    this.submit = this.form.querySelector("[type=submit]");
    this.errorBox = this.form.querySelector("[data-legato-form-error]");
    this.trigger = null;
    for (const b of dialog.querySelectorAll("[data-legato-close]")) b.addEventListener("click", () => this.close());
    // Typing clears that field's complaint.
    this.form.addEventListener("input", (event) => {
      const name = event.target?.name;
      if (name) this.fieldError(name, "");
    });
  }

  field(name) {
    return this.form.elements.namedItem(name);
  }

  open(trigger) {
    this.trigger = trigger;
    this.showError("");
    for (const node of this.form.querySelectorAll("[data-legato-field-error]")) this.fieldError(node.dataset.legatoFieldError, "");
    this.dialog.showModal();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
    this.trigger?.focus();
  }

  showError(message) {
    if (!this.errorBox) return;
    this.errorBox.hidden = !message;
    this.errorBox.querySelector("[data-legato-form-error-text]").textContent = message || "";
  }

  fieldError(name, message) {
    const node = this.form.querySelector(`[data-legato-field-error="${name}"]`);
    if (node) node.textContent = message || "";
    this.field(name)?.setAttribute?.("aria-invalid", message ? "true" : "false");
  }

  busy(on) {
    this.submit.disabled = on;
    if (on) this.submit.setAttribute("aria-busy", "true");
    else this.submit.removeAttribute("aria-busy");
    if (this.trigger) {
      this.trigger.disabled = on;
      if (on) this.trigger.setAttribute("aria-busy", "true");
      else this.trigger.removeAttribute("aria-busy");
    }
  }

  /** Run `handler` on submit; it returns true when the dialog may close. */
  onSubmit(handler) {
    this.form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (this.submit.disabled) return;
      this.showError("");
      await handler();
    });
  }
}

export class OperatorActions {
  /**
   * @param {object} options
   * @param {Element} options.root               the page root
   * @param {() => object} options.getState      the viewer state ({execution, events, …})
   * @param {(execution: object) => void} options.onExecution  an action returned the execution
   * @param {(url: string) => void} [options.navigate]
   */
  constructor({ root, getState, onExecution, navigate = (url) => window.location.assign(url) }) {
    Object.assign(this, { root, getState, onExecution, navigate });
    this.buttons = {};
    for (const button of root.querySelectorAll("[data-legato-action]")) this.buttons[button.dataset.legatoAction] = button;
    this.dialogs = {};
    for (const dialog of root.querySelectorAll("dialog[data-legato-dialog]")) {
      this.dialogs[dialog.dataset.legatoDialog] = new ActionDialog(dialog);
    }
    this.flow = root.dataset.legatoFlow || "";
    this.input = null;
  }

  get execution() {
    return this.getState().execution || {};
  }

  start(input) {
    this.input = input;
    this.wireStop();
    this.wireRedrive();
    this.wireRerun();
    this.wireStartAgain();
    this.update();
  }

  /** Show the buttons the current status allows. */
  update() {
    const allowed = availableActions(this.execution.status);
    const show = { stop: allowed.stop, redrive: allowed.redrive, rerun: allowed.rerun, "start-again": allowed.startAgain && Boolean(this.flow) };
    for (const [name, button] of Object.entries(this.buttons)) {
      const visible = Boolean(show[name]);
      if (!visible && this.dialogs[name]?.dialog.open) this.dialogs[name].close();
      button.hidden = !visible;
    }
  }

  wire(name, { onOpen, onSubmit }) {
    const button = this.buttons[name];
    const dialog = this.dialogs[name];
    if (!button || !dialog) return;
    button.addEventListener("click", () => {
      onOpen?.(dialog);
      dialog.open(button);
      (dialog.form.querySelector("textarea, select, input:not([type=hidden])"))?.focus();
    });
    dialog.onSubmit(() => onSubmit(dialog));
  }

  /** POST and report: resolves to the data on success, null after showing the error. */
  async send(dialog, url, body) {
    dialog.busy(true);
    const result = await postJson(url, body, { csrf: csrfToken(dialog.form) });
    dialog.busy(false);
    if (!result.ok) {
      dialog.showError(result.message);
      return null;
    }
    return result.data ?? {};
  }

  checkReason(dialog, required) {
    const message = reasonError(dialog.field("reason").value, { required });
    dialog.fieldError("reason", message);
    if (message) dialog.field("reason").focus();
    return !message;
  }

  wireStop() {
    this.wire("stop", {
      onOpen: (dialog) => {
        dialog.field("reason").value = "";
        dialog.field("cause").value = "";
      },
      onSubmit: async (dialog) => {
        if (!this.checkReason(dialog, true)) return;
        const body = stopBody(dialog.field("reason").value, dialog.field("cause").value);
        const data = await this.send(dialog, paths.stop(this.execution.id), body);
        if (!data) return;
        dialog.close();
        this.onExecution(data);
      },
    });
  }

  wireRedrive() {
    this.wire("redrive", {
      onOpen: (dialog) => {
        dialog.field("reason").value = "";
      },
      onSubmit: async (dialog) => {
        if (!this.checkReason(dialog, true)) return;
        const body = { reason: dialog.field("reason").value.trim() };
        const data = await this.send(dialog, paths.redrive(this.execution.id), body);
        if (!data) return;
        dialog.close();
        this.onExecution(data);
      },
    });
  }

  wireRerun() {
    this.wire("rerun", {
      onOpen: (dialog) => {
        const select = dialog.field("state");
        const candidates = rerunCandidates(this.getState().events);
        const chosen = candidates.some((c) => c.state === select.value) ? select.value : defaultRerunState(candidates);
        select.replaceChildren(...candidates.map((c) => el("option", { value: c.state, text: candidateLabel(c) })));
        select.disabled = candidates.length === 0;
        if (chosen) select.value = chosen;
        dialog.submit.disabled = candidates.length === 0;
        const hint = dialog.form.querySelector("[data-legato-rerun-hint]");
        if (hint) {
          hint.textContent = candidates.length
            ? "Top-level states that ran in this execution."
            : "No top-level state has run yet, so there is nothing to re-run from.";
        }
        dialog.field("reason").value = "";
      },
      onSubmit: async (dialog) => {
        const state = dialog.field("state").value;
        if (!state) return;
        if (!this.checkReason(dialog, false)) return;
        const data = await this.send(dialog, paths.rerun(this.execution.id), { state, reason: dialog.field("reason").value.trim() });
        if (!data) return;
        if (data.id == null) {
          dialog.showError("The server did not say which execution it started.");
          return;
        }
        dialog.busy(true); // stay busy while the next page loads
        this.navigate(paths.executionPage(data.id));
      },
    });
  }

  wireStartAgain() {
    const dialog = this.dialogs["start-again"];
    if (!dialog) return;
    const textarea = dialog.field("input");
    const jsonError = dialog.form.querySelector("[data-legato-json-error]");
    const original = () => JSON.stringify(this.input ?? {}, null, 2);
    const validate = () => {
      const result = parseJsonInput(textarea.value);
      jsonError.textContent = result.ok ? "" : result.message;
      textarea.setAttribute("aria-invalid", result.ok ? "false" : "true");
      return result;
    };
    let timer = null;
    textarea.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(validate, 300);
    });
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) dialog.form.requestSubmit();
    });
    dialog.form.querySelector("[data-legato-format]")?.addEventListener("click", () => {
      const result = validate();
      if (result.ok) textarea.value = JSON.stringify(result.value, null, 2);
    });
    dialog.form.querySelector("[data-legato-reset-input]")?.addEventListener("click", () => {
      textarea.value = original();
      validate();
      textarea.focus();
    });
    let prefilled = false;
    this.wire("start-again", {
      onOpen: () => {
        // Keep an edit made earlier in this page visit; fill it the first time only.
        if (!prefilled) textarea.value = original();
        prefilled = true;
        validate();
      },
      onSubmit: async () => {
        const result = validate();
        if (!result.ok) {
          textarea.focus();
          return;
        }
        const data = await this.send(dialog, paths.start(this.flow), { input: result.value });
        if (!data) return;
        if (data.id == null) {
          dialog.showError("The server did not say which execution it started.");
          return;
        }
        dialog.busy(true);
        this.navigate(paths.executionPage(data.id));
      },
    });
  }
}
