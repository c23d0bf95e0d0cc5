/**
 * Flow detail page: draw the diagram, switch Diagram/Definition tabs, and run the
 * "Start execution" dialog (validate JSON here, POST to the API, go to the new execution).
 */

import { apiErrorMessage } from "./api-error.js";
import { csrfToken, readJsonScript } from "./dom.js";
import { renderGraph } from "./flow-graph.js";
import { parseJsonInput } from "./json-input.js";

function wireTabs(root) {
  const tabs = [...root.querySelectorAll('[role="tab"]')];
  const select = (tab) => {
    for (const t of tabs) {
      const selected = t === tab;
      t.setAttribute("aria-selected", String(selected));
      t.tabIndex = selected ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !selected;
    }
  };
  for (const tab of tabs) {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length];
      select(next);
      next.focus();
    });
  }
}

function offsetOf(text, line, column) {
  const lines = text.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i += 1) offset += lines[i].length + 1;
  return offset + column - 1;
}

function wireStartDialog(root) {
  const dialog = root.querySelector("[data-legato-start-dialog]");
  const openButton = root.querySelector("[data-legato-open-start]");
  if (!dialog || !openButton) return;
  const form = dialog.querySelector("form");
  const textarea = form.querySelector("textarea[name=input]");
  const nameInput = form.querySelector("input[name=name]");
  const jsonError = form.querySelector("[data-legato-json-error]");
  const formError = form.querySelector("[data-legato-form-error]");
  const submit = form.querySelector("[type=submit]");
  const url = form.dataset.legatoStartUrl;

  const showJsonError = (message) => {
    jsonError.textContent = message || "";
    textarea.setAttribute("aria-invalid", message ? "true" : "false");
  };
  const showFormError = (message) => {
    formError.hidden = !message;
    formError.querySelector("[data-legato-form-error-text]").textContent = message || "";
  };
  const validate = () => {
    const result = parseJsonInput(textarea.value);
    showJsonError(result.ok ? "" : result.message);
    return result;
  };

  openButton.addEventListener("click", () => {
    showFormError("");
    dialog.showModal();
    textarea.focus();
  });
  dialog.querySelectorAll("[data-legato-close]").forEach((b) => b.addEventListener("click", () => dialog.close()));

  let timer = null;
  textarea.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(validate, 300);
  });
  form.querySelector("[data-legato-format]")?.addEventListener("click", () => {
    const result = validate();
    if (result.ok) textarea.value = JSON.stringify(result.value, null, 2);
  });
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showFormError("");
    const result = validate();
    if (!result.ok) {
      textarea.focus();
      if (result.line) {
        const at = offsetOf(textarea.value, result.line, result.column);
        textarea.setSelectionRange(at, at + 1);
      }
      return;
    }
    const body = { input: result.value };
    const name = nameInput.value.trim();
    if (name) body.name = name;

    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(form),
        },
        body: JSON.stringify(body),
      });
      const data = await response.json().catch(() => null);
      if (response.ok && data?.id != null) {
        window.location.assign(`/executions/${encodeURIComponent(data.id)}/`);
        return; // keep the button busy while the next page loads
      }
      showFormError(apiErrorMessage(response.status, data));
    } catch (err) {
      showFormError(`Could not reach the server: ${err?.message || err}`);
    }
    submit.disabled = false;
    submit.removeAttribute("aria-busy");
  });
}

function main() {
  const root = document.querySelector("[data-legato-flow-page]");
  if (!root) return;
  const diagram = root.querySelector("[data-legato-graph]");
  if (diagram) renderGraph(diagram, readJsonScript(diagram.dataset.legatoGraph));
  wireTabs(root);
  wireStartDialog(root);
}

main();
