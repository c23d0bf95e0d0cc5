/**
 * The diagram's second line of defence: before Graphviz's SVG enters the page it keeps
 * only drawing elements, and loses every link, event handler and script. The server
 * already writes state names into the DOT as plain text (workflows/diagrams.py); this
 * holds even if a later change to the DOT let markup or a URL through.
 */

const SVG_NS = "http://www.w3.org/2000/svg";

// Everything Graphviz's SVG renderer draws with. Anything else (script, foreignObject,
// image, use, animate, set, style, …) can run code, load something or rewrite an
// attribute, and goes with its content.
const DRAWING = new Set([
  "svg", "g", "title", "desc", "polygon", "polyline", "ellipse", "circle", "path", "line",
  "rect", "text", "tspan", "defs", "linearGradient", "radialGradient", "stop",
]);

/** True for an attribute that can run code or point somewhere: on*, href, src, javascript: */
function dangerous(attr) {
  const name = attr.localName.toLowerCase();
  return (
    name.startsWith("on") ||
    name === "href" ||
    name === "src" ||
    /^\s*(javascript|data|vbscript):/i.test(attr.value)
  );
}

function stripAttributes(el) {
  for (const attr of [...el.attributes]) {
    if (dangerous(attr)) el.removeAttributeNode(attr);
  }
}

/**
 * Clean `svg` in place and return it: <a> elements are unwrapped (their drawing kept),
 * other elements that are not drawing are removed, dangerous attributes are dropped.
 */
export function sanitizeSvg(svg) {
  // A static list in document order: an <a> is unwrapped before its children are seen,
  // and the children of a removed element are visited detached, harmlessly.
  for (const el of [...svg.querySelectorAll("*")]) {
    const drawing = el.namespaceURI === SVG_NS && DRAWING.has(el.localName);
    if (drawing) stripAttributes(el);
    else if (el.namespaceURI === SVG_NS && el.localName === "a") el.replaceWith(...el.childNodes);
    else el.remove();
  }
  stripAttributes(svg);
  return svg;
}
