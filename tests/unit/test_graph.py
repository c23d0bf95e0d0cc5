from workflows.engine import build_graph

DEFINITION = {
    "StartAt": "A",
    "States": {
        "A": {
            "Type": "Task",
            "Resource": "r",
            "Next": "C",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}],
        },
        "C": {
            "Type": "Choice",
            "Default": "F",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 3, "Next": "S"}],
        },
        "S": {"Type": "Succeed"},
        "F": {"Type": "Fail"},
    },
}


def test_state_node_ids_follow_definition_order():
    graph = build_graph(DEFINITION)
    assert [(n["id"], n["state"]) for n in graph["nodes"] if n["state"]] == [
        ("s0", "A"),
        ("s1", "C"),
        ("s2", "S"),
        ("s3", "F"),
    ]


def test_choice_rules_become_labelled_edges():
    edges = build_graph(DEFINITION)["edges"]
    assert {"source": "s1", "target": "s2", "kind": "choice", "label": "$.n > 3"} in edges


def test_catchers_become_catch_edges():
    edges = build_graph(DEFINITION)["edges"]
    assert {"source": "s0", "target": "s3", "kind": "catch", "label": "catch States.ALL"} in edges


def test_terminal_states_lead_to_the_end_node():
    edges = build_graph(DEFINITION)["edges"]
    assert {e["source"] for e in edges if e["target"] == "__end__"} == {"s2", "s3"}
