/**
 * Render a flow's Graphviz DOT to SVG in the browser with the vendored viz.js (wasm), then
 * mark every state node with the public hooks `data-state="<name>"` and `data-status="…"`.
 * Status changes afterwards are attribute swaps (applyStatuses); the layout never re-runs.
 * The SVG is sanitised (safe-svg.js) before it enters the page.
 */

import { sanitizeSvg } from "./safe-svg.js";

const VIZ_URL = new URL("../vendor/viz/viz-standalone.js", import.meta.url).href;
const NON_STATE_TYPES = new Set(["Start", "End"]);

let vizPromise = null;

/** The viz.js instance, created once per page on first use (the module is ~1.2 MB). */
export function loadViz() {
  if (!vizPromise) {
    vizPromise = import(VIZ_URL)
      .then((module) => module.instance())
      .catch((err) => {
        vizPromise = null; // let a later call retry
        throw err;
      });
  }
  return vizPromise;
}

function placeholder(container, { text, detail = null, error = false, busy = false }) {
  const box = document.createElement("div");
  box.className = `diagram__placeholder${error ? " diagram__placeholder--error" : ""}`;
  box.setAttribute("role", error ? "alert" : "status");
  if (busy) {
    const spin = document.createElement("span");
    spin.className = "spinner";
    spin.setAttribute("aria-hidden", "true");
    box.append(spin);
  }
  const label = document.createElement("span");
  label.textContent = text;
  box.append(label);
  if (detail) {
    const pre = document.createElement("pre");
    pre.textContent = detail;
    box.append(pre);
  }
  container.replaceChildren(box);
}

/** The <g> Graphviz produced for graph node `id`: by `id="state-<id>"`, else by its <title>. */
function findNodeGroup(svg, id) {
  const byId = svg.querySelector(`g#${CSS.escape(`state-${id}`)}`);
  if (byId) return byId;
  for (const g of svg.querySelectorAll("g.node")) {
    if (g.querySelector(":scope > title")?.textContent === id) return g;
  }
  return null;
}

function prepareSvg(svg) {
  const box = svg.viewBox?.baseVal;
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Flow diagram");
  if (box && box.width && box.height) {
    // Fit big graphs to the panel, but never blow a small one up past 1.5x.
    svg.style.maxWidth = `${Math.round(box.width * 1.5) + 32}px`;
    svg.style.maxHeight = `${Math.round(box.height * 1.5) + 32}px`;
    svg.style.margin = "auto";
  }
}

function annotate(svg, nodes) {
  for (const node of nodes || []) {
    // An empty string is a valid state name, so test for null, not falsiness.
    if (!node || node.state == null || NON_STATE_TYPES.has(node.type)) continue;
    const g = findNodeGroup(svg, node.id);
    if (!g) continue;
    g.setAttribute("data-state", node.state);
    g.setAttribute("data-status", "pending");
    if (node.type) g.setAttribute("data-type", node.type);
    const title = g.querySelector(":scope > title");
    if (title) title.textContent = node.type ? `${node.state} (${node.type})` : node.state;
  }
}

/**
 * Render `graph` ({dot, nodes, edges}) into `container`. Resolves to the <svg>, or null when
 * there is nothing to draw or rendering failed (the container then shows why).
 * `container.dataset.legatoRender` is "rendering", then "done", "empty" or "error".
 */
export async function renderGraph(container, graph) {
  container.dataset.legatoRender = "rendering";
  container.setAttribute("aria-busy", "true");
  if (!graph || typeof graph.dot !== "string" || !graph.dot.trim()) {
    placeholder(container, { text: "No diagram for this flow." });
    container.dataset.legatoRender = "empty";
    container.removeAttribute("aria-busy");
    return null;
  }
  placeholder(container, { text: "Rendering…", busy: true });
  try {
    const viz = await loadViz();
    const svg = sanitizeSvg(viz.renderSVGElement(graph.dot));
    prepareSvg(svg);
    annotate(svg, graph.nodes);
    container.replaceChildren(svg);
    container.dataset.legatoRender = "done";
    return svg;
  } catch (err) {
    placeholder(container, {
      text: "The diagram could not be drawn.",
      detail: String(err?.message || err),
      error: true,
    });
    container.dataset.legatoRender = "error";
    return null;
  } finally {
    container.removeAttribute("aria-busy");
  }
}

/** Set `data-status` on the state nodes named in `statuses` ({stateName: status}). */
export function applyStatuses(container, statuses) {
  const byName = new Map();
  for (const g of container.querySelectorAll("svg g[data-state]")) {
    byName.set(g.getAttribute("data-state"), g);
  }
  for (const [state, status] of Object.entries(statuses || {})) {
    const g = byName.get(state);
    if (g && status) g.setAttribute("data-status", String(status).toLowerCase());
  }
}

/** The state node <g> for a state name, or null. */
export function stateNode(container, stateName) {
  return container.querySelector(`svg g[data-state="${CSS.escape(stateName)}"]`);
}
