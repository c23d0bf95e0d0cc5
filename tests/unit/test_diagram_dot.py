"""The graphviz package writes the DOT, but only values made plain by ``diagrams.plain``.

``PlainDigraph`` replaces the package's quoting hooks; these tests hold it to refusing any
value that skipped :func:`diagrams.plain` and to quoting every ID whole.
"""

from __future__ import annotations

import pytest

from workflows.diagrams import PlainDigraph, plain


def test_a_label_that_skipped_plain_is_refused():
    graph = PlainDigraph(name=plain("g"))
    with pytest.raises(TypeError, match="plain"):
        graph.node(plain("s0"), label="<<b>bold</b>>")


def test_a_node_id_that_skipped_plain_is_refused():
    graph = PlainDigraph(name=plain("g"))
    with pytest.raises(TypeError, match="plain"):
        graph.node("s0", label=plain("A", label=True))


def test_a_plain_value_that_was_changed_afterwards_is_refused():
    graph = PlainDigraph(name=plain("g"))
    with pytest.raises(TypeError, match="plain"):
        graph.node(plain("s0"), label=plain("A", label=True) + '"]; x [label="')


def test_an_edge_end_with_a_colon_is_one_node_not_a_node_and_a_port():
    graph = PlainDigraph(name=plain("g"))
    graph.edge(plain("a:b"), plain("c:d:n"))
    assert '\t"a:b" -> "c:d:n"\n' in graph.source


def test_a_plain_label_is_written_by_the_package_as_one_quoted_string():
    graph = PlainDigraph(name=plain("g"))
    graph.node(plain("s0"), label=plain('<b>"x"\\</b>', label=True))
    assert '\t"s0" [label="<b>\\"x\\"\\\\</b>"]\n' in graph.source
