"""State names are plain text in a real browser, and every page works under the CSP."""

from __future__ import annotations

import pytest

HOSTILE_NAMES = [
    '<<TABLE><TR><TD HREF="javascript:alert(document.domain)">go</TD></TR></TABLE>>',
    "<img src=x onerror=alert(1)>",
    "Done\\",
    '"]; x [label="injected"]; y [label="',
    'say "hi"',
    "two\nlines",
    ("état-漢字-😀-Ωμέγα-שלום " * 4)[:80],
    "",
]

# Every state node of the diagram: its hooks and the text drawn in it.
NODES_JS = """() => [...document.querySelectorAll("[data-legato-render] svg g[data-state]")].map(
  (g) => ({
    state: g.getAttribute("data-state"),
    status: g.getAttribute("data-status"),
    text: [...g.querySelectorAll("text")].map((t) => t.textContent).join("\\n"),
  }))"""

# Anything in the diagram that could run script or lead somewhere.
DANGER_JS = r"""() => {
  const svg = document.querySelector("[data-legato-render] svg");
  const found = [];
  for (const el of [svg, ...svg.querySelectorAll("*")]) {
    if (!["svg", "g", "title", "polygon", "ellipse", "path", "text"].includes(el.localName))
      found.push(`<${el.localName}>`);
    for (const attr of el.attributes) {
      const name = attr.localName.toLowerCase();
      if (name.startsWith("on") || name === "href" || /^\s*javascript:/i.test(attr.value))
        found.push(`${el.localName} ${attr.name}=${attr.value}`);
    }
  }
  return found;
}"""


def _chain(names: list[str]) -> dict:
    pairs = zip(names[:-1], names[1:], strict=True)
    states = {name: {"Type": "Pass", "Next": after} for name, after in pairs}
    states[names[-1]] = {"Type": "Succeed"}
    return {"StartAt": names[0], "States": states}


@pytest.fixture(scope="module")
def hostile(server):
    status, body = server.call(
        "POST", "/api/v1/flows/", {"name": "hostile", "definition": _chain(HOSTILE_NAMES)}
    )
    assert status == 201, body
    execution = server.post("/api/v1/flows/hostile/executions/", {"input": {}})
    server.wait_terminal([execution["id"]], timeout=30)
    return {"flow": "/flows/hostile/", "execution": f"/executions/{execution['id']}/"}


def _draw(page, url):
    page.goto(url)
    page.wait_for_selector('[data-legato-render]:not([data-legato-render="rendering"])')
    assert page.get_attribute("[data-legato-render]", "data-legato-render") == "done"
    return page.evaluate(NODES_JS)


@pytest.mark.parametrize("where", ["flow", "execution"])
def test_each_hostile_state_name_is_one_node_whose_data_state_is_the_name(
    page, server, hostile, where
):
    nodes = _draw(page, server.base_url + hostile[where])
    assert [node["state"] for node in nodes] == HOSTILE_NAMES


@pytest.mark.parametrize("where", ["flow", "execution"])
def test_each_hostile_state_name_is_drawn_as_its_own_text(page, server, hostile, where):
    nodes = _draw(page, server.base_url + hostile[where])
    assert [node["text"] for node in nodes] == HOSTILE_NAMES


def test_the_status_overlay_finds_every_hostile_name(page, server, hostile):
    nodes = _draw(page, server.base_url + hostile["execution"])
    assert {node["status"] for node in nodes} == {"succeeded"}


@pytest.mark.parametrize("where", ["flow", "execution"])
def test_the_diagram_holds_no_link_script_or_event_handler(page, server, hostile, where):
    _draw(page, server.base_url + hostile[where])
    assert page.evaluate(DANGER_JS) == []


def test_clicking_every_hostile_state_opens_no_dialog_and_leaves_the_page(page, server, hostile):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    url = server.base_url + hostile["execution"]
    _draw(page, url)
    for node in page.query_selector_all("[data-legato-render] svg g[data-state] text"):
        node.click()
    assert dialogs == []
    assert page.url == url


SANITISE_JS = """async () => {
  const { sanitizeSvg } = await import("/static/legato/js/safe-svg.js");
  const doc = new DOMParser().parseFromString(`
    <svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
         onload="alert(1)">
      <g id="n" class="node" onclick="alert(2)">
        <a xlink:href="javascript:alert(3)" href="javascript:alert(4)"><text>kept</text></a>
        <script>alert(5)</script>
        <foreignObject><div xmlns="http://www.w3.org/1999/xhtml">html</div></foreignObject>
        <image href="data:image/svg+xml,x"/>
        <use href="#n"/>
        <set attributeName="href" to="javascript:alert(6)"/>
        <polygon points="0,0 1,1" fill="javascript:alert(7)"/>
      </g>
    </svg>`, "image/svg+xml");
  return sanitizeSvg(doc.documentElement).outerHTML;
}"""


def test_the_svg_sanitiser_unwraps_links_and_drops_scripts_and_handlers(
    page, server, csp_violations
):
    svg = page.evaluate(SANITISE_JS)
    assert "<text>kept</text>" in svg
    for gone in ("alert", "<a", "<script", "foreignObject", "<image", "<use", "<set", "href"):
        assert gone not in svg
    # The policy itself refused the test SVG's inline handlers while it was parsed.
    assert all("inline event handler" in violation for violation in csp_violations)
    csp_violations.clear()


PAGES = [
    ("/", ".main"),
    ("/flows/", ".main"),
    ("{flow}", '[data-legato-render="done"]'),
    ("/executions/", ".main"),
    ("{execution}", '[data-legato-render="done"]'),
    ("/audit/", ".main"),
    ("/account/token/", ".main"),
    ("/admin/", "#content"),
    ("/admin/workflows/execution/", "#changelist"),
    ("/admin/workflows/flow/add/", "form"),
    ("/api/docs/", ".swagger-ui .opblock"),
]


@pytest.mark.parametrize(("path", "ready"), PAGES)
def test_every_page_works_under_its_content_security_policy(
    page, server, hostile, csp_violations, path, ready
):
    response = page.goto(server.base_url + path.format(**hostile))
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(ready, timeout=15_000)
    page.wait_for_load_state("networkidle")
    assert csp_violations == []


def test_the_login_page_works_under_its_content_security_policy(browser, server):
    context = browser.new_context()
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    response = page.goto(server.base_url + "/accounts/login/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    context.close()
    assert violations == []


def test_a_state_named_with_the_empty_string_can_be_selected(page, server, hostile):
    _draw(page, server.base_url + hostile["execution"])
    page.click('[data-legato-render] svg g[data-state=""]')
    assert page.get_attribute('svg g[data-state=""]', "data-selected") == "true"
    assert page.is_visible("[data-legato-selection]")
