"""The DOT a diagram is drawn from: a state name is always plain text.

State names, choice-rule descriptions and catch labels are user text. Each hostile name
here is drawn with the vendored viz.js (the Graphviz the browser runs, through Node.js),
and the SVG is read back: exactly the intended nodes and edges, the name as the label.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import missing
from workflows import diagrams

RENDER = Path(__file__).resolve().parents[1] / "support" / "render_dot.mjs"
SVG = "{http://www.w3.org/2000/svg}"

HOSTILE_NAMES = {
    "html_like_label": (
        '<<TABLE><TR><TD HREF="javascript:alert(document.cookie)">x</TD></TR></TABLE>>'
    ),
    "img_tag": "<img src=x>",
    "trailing_backslash": "Done\\",
    "dot_injection": '"]; x [label="injected"]; s0 -> x; y [label="',
    "quotes": 'say "hi" \\"there\\"',
    "newlines": "two\nlines",
    "html_entities": "&lt;b&gt; &amp; &#65; &",
    "graphviz_escapes": "\\N \\G \\l \\n \\E",
    "unicode_80": ("état-漢字-😀-Ωμέγα-שלום " * 4)[:80],
}


def _chain(name: str) -> dict:
    return {
        "StartAt": name,
        "States": {name: {"Type": "Pass", "Next": "After"}, "After": {"Type": "Succeed"}},
    }


def _render(sources: list[str]) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        missing("Node.js")
    result = subprocess.run(
        [node, str(RENDER)],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def drawn() -> dict[str, dict]:
    """Each hostile name's two-state flow, drawn once for the whole module."""
    sources = [diagrams.build(_chain(name))["dot"] for name in HOSTILE_NAMES.values()]
    return dict(zip(HOSTILE_NAMES, _render(sources), strict=True))


def _svg(result: dict) -> ET.Element:
    assert result["status"] == "success", result["errors"]
    return ET.fromstring(result["output"].encode())


def _groups(svg: ET.Element, kind: str) -> dict[str, ET.Element]:
    return {
        g.find(f"{SVG}title").text: g
        for g in svg.iter(f"{SVG}g")
        if kind in g.get("class", "").split()
    }


def _text(group: ET.Element) -> str:
    """The lines drawn, one <text> each, as :func:`_shown` spells them."""
    return _shown("\n".join("".join(t.itertext()) for t in group.iter(f"{SVG}text")))


def _shown(text: str) -> str:
    """What a reader sees: Graphviz draws nothing for a blank line, and writes a run of
    spaces with no-break spaces so that the browser keeps them."""
    lines = text.replace("\u00a0", " ").split("\n")
    return "\n".join(line for line in lines if line.strip())


@pytest.mark.parametrize("case", HOSTILE_NAMES)
def test_a_hostile_state_name_draws_exactly_the_intended_nodes(drawn, case):
    assert set(_groups(_svg(drawn[case]), "node")) == {"__start__", "s0", "s1", "__end__"}


@pytest.mark.parametrize("case", HOSTILE_NAMES)
def test_a_hostile_state_name_draws_exactly_the_intended_edges(drawn, case):
    edges = set(_groups(_svg(drawn[case]), "edge"))
    assert edges == {"__start__->s0", "s0->s1", "s1->__end__"}


@pytest.mark.parametrize("case", HOSTILE_NAMES)
def test_a_hostile_state_name_is_its_nodes_label_verbatim(drawn, case):
    node = _groups(_svg(drawn[case]), "node")["s0"]
    assert _text(node) == _shown(HOSTILE_NAMES[case])


@pytest.mark.parametrize("case", HOSTILE_NAMES)
def test_a_hostile_state_name_puts_no_link_into_the_svg(drawn, case):
    svg = _svg(drawn[case])
    assert not list(svg.iter(f"{SVG}a"))
    assert not [name for el in svg.iter() for name in el.attrib if "href" in name.lower()]


def test_a_choice_rule_and_a_catch_label_show_their_user_text_verbatim():
    definition = {
        "StartAt": "Pick",
        "States": {
            "Pick": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "StringEquals": "<b>&amp;\\", "Next": "Work"}],
                "Default": "Other",
            },
            "Work": {
                "Type": "Task",
                "Resource": "builtin:echo",
                "End": True,
                "Catch": [{"ErrorEquals": ['<i>"Oops"\\'], "Next": "Other"}],
            },
            "Other": {"Type": "Succeed"},
        },
    }
    (result,) = _render([diagrams.build(definition)["dot"]])
    edges = _groups(_svg(result), "edge")
    assert _text(edges["s0->s1"]) == '$.x == "<b>&amp;\\"'
    assert _text(edges["s1->s2"]) == 'catch <i>"Oops"\\'


def test_a_control_character_in_a_name_draws_as_its_visible_symbol():
    (result,) = _render([diagrams.build(_chain("bell\x07nul\x00end"))["dot"]])
    node = _groups(_svg(result), "node")["s0"]
    assert _text(node) == "bell\u2407nul\u2400end"


def test_every_attribute_value_in_the_dot_is_a_quoted_string():
    dot = diagrams.build(_chain(HOSTILE_NAMES["html_like_label"]))["dot"]
    outside_strings = re.sub(r'"(?:[^"\\]|\\.)*"', "Q", dot, flags=re.DOTALL)
    assert "<" not in outside_strings
    assert re.search(r"=(?!Q)", outside_strings) is None


def test_a_trailing_backslash_is_doubled_so_it_cannot_escape_the_closing_quote():
    dot = diagrams.build(_chain("Done\\"))["dot"]
    assert 'label="Done\\\\"' in dot


def test_a_quote_in_a_name_is_escaped_so_it_cannot_end_the_string():
    dot = diagrams.build(_chain('"]; x [label="'))["dot"]
    assert 'label="\\"]; x [label=\\""' in dot


def test_an_ampersand_in_a_label_is_escaped_so_graphviz_reads_no_entity():
    dot = diagrams.build(_chain("&lt;"))["dot"]
    assert 'label="&amp;lt;"' in dot


def test_the_dot_gives_no_tooltip_or_url_that_would_wrap_a_node_in_a_link():
    dot = diagrams.build(_chain("A"))["dot"].lower()
    assert not any(word in dot for word in ("tooltip", "url", "href", "target"))


def _random_name(rng: random.Random) -> str:
    tricky = '\\"<>&;[]{}=#%\n\t -'
    chars = []
    for _ in range(rng.randint(1, 80)):
        pick = rng.random()
        if pick < 0.4:
            chars.append(rng.choice(tricky))
        elif pick < 0.7:
            chars.append(chr(rng.randint(0x21, 0x7E)))
        else:
            code = rng.randint(0xA0, 0x10FFFF)
            chars.append(chr(code) if unicodedata.category(chr(code)) not in UNDRAWABLE else "x")
    return "".join(chars)


UNDRAWABLE = {"Cs", "Cn", "Co"}  # surrogates, unassigned and private use: tested apart


def test_any_name_asl_allows_draws_as_itself():
    rng = random.Random(20261207)
    names = [_random_name(rng) for _ in range(300)]
    results = _render([diagrams.build(_chain(name))["dot"] for name in names])
    wrong = [
        (name, _text(_groups(_svg(result), "node")["s0"]))
        for name, result in zip(names, results, strict=True)
        if _text(_groups(_svg(result), "node")["s0"]) != _shown(name)
    ]
    assert wrong == []


def test_a_name_starting_with_a_blank_line_and_a_long_line_draws():
    name = "\n" + "x" * 70
    (result,) = _render([diagrams.build(_chain(name))["dot"]])
    assert _text(_groups(_svg(result), "node")["s0"]) == "x" * 70
