/*
 * Theme choice: "system" (follow prefers-color-scheme), "light" or "dark", kept in
 * localStorage and applied as <html data-theme="…">.
 *
 * Loaded as a classic, render-blocking script in <head> (not a module: modules are deferred)
 * so a stored choice applies before first paint and a dark-mode user never sees a white flash.
 * The toggle button is wired once the document is parsed.
 */
(function () {
  "use strict";

  var KEY = "legato-theme";
  var CHOICES = ["system", "light", "dark"];
  var LABELS = { system: "Theme: system", light: "Theme: light", dark: "Theme: dark" };
  var root = document.documentElement;

  function stored() {
    try {
      var value = window.localStorage.getItem(KEY);
      return CHOICES.indexOf(value) >= 0 ? value : "system";
    } catch (e) {
      return "system";
    }
  }

  function apply(choice) {
    if (choice === "system") root.removeAttribute("data-theme");
    else root.setAttribute("data-theme", choice);
  }

  function save(choice) {
    try {
      if (choice === "system") window.localStorage.removeItem(KEY);
      else window.localStorage.setItem(KEY, choice);
    } catch (e) {
      /* storage disabled: the choice lasts for this page only */
    }
  }

  function paintButtons(choice) {
    var buttons = document.querySelectorAll("[data-legato-theme-toggle]");
    for (var i = 0; i < buttons.length; i += 1) {
      var next = CHOICES[(CHOICES.indexOf(choice) + 1) % CHOICES.length];
      buttons[i].setAttribute("data-theme-choice", choice);
      buttons[i].setAttribute("aria-label", LABELS[choice] + " (switch to " + next + ")");
      buttons[i].setAttribute("title", LABELS[choice] + " — click for " + next);
    }
  }

  apply(stored());

  function wire() {
    paintButtons(stored());
    document.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("[data-legato-theme-toggle]");
      if (!button) return;
      var choice = CHOICES[(CHOICES.indexOf(stored()) + 1) % CHOICES.length];
      save(choice);
      apply(choice);
      paintButtons(choice);
    });
    // Another tab changed the theme: follow it.
    window.addEventListener("storage", function (event) {
      if (event.key !== KEY) return;
      apply(stored());
      paintButtons(stored());
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire);
  else wire();
})();
