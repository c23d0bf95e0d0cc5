/** Small DOM helpers shared by the page modules. */

/** Parse the JSON of a Django `json_script` element, or return `fallback` when absent/invalid. */
export function readJsonScript(id, fallback = null) {
  const node = document.getElementById(id);
  if (!node) return fallback;
  try {
    return JSON.parse(node.textContent);
  } catch {
    return fallback;
  }
}

/**
 * Create an element. `attrs` keys: `class`, `text`, `dataset` (object), any attribute name;
 * `children` are nodes or strings. Never parses HTML, so server data cannot inject markup.
 */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of [].concat(children)) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** The CSRF token from a `{% csrf_token %}` input inside `scope`, else from the cookie. */
export function csrfToken(scope = document) {
  const input = scope.querySelector("input[name=csrfmiddlewaretoken]");
  if (input?.value) return input.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}
