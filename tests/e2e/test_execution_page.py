"""The walking skeleton's promise, in a real browser: start a flow and watch it run."""

from __future__ import annotations

import json

SLEEPY = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Next": "Nap"},
        "Nap": {
            "Type": "Task",
            "Resource": "builtin:sleep",
            "Parameters": {"seconds": 2},
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}


def test_a_started_execution_turns_its_task_from_running_to_succeeded_without_reload(page, server):
    status, body = server.call("POST", "/api/v1/flows/", {"name": "sleepy", "definition": SLEEPY})
    assert status == 201, body
    page.goto(server.base_url + "/flows/sleepy/")
    page.wait_for_selector('[data-state="Nap"][data-status="pending"]')
    page.click("[data-legato-open-start]")
    page.fill("#start-input", json.dumps({"who": "e2e"}))
    page.click("[data-legato-start-dialog] button[type=submit]")
    page.wait_for_url("**/executions/*/")
    page.evaluate("window.__legatoNoReload = true")
    page.wait_for_selector('[data-state="Nap"][data-status="running"]', timeout=10_000)
    page.wait_for_selector('[data-state="Nap"][data-status="succeeded"]', timeout=15_000)
    page.wait_for_selector('[data-state="Done"][data-status="succeeded"]', timeout=5_000)
    assert page.evaluate("window.__legatoNoReload") is True
    assert "ExecutionSucceeded" in page.inner_text("body")


def test_a_caught_failure_is_shown_as_caught_and_the_handler_as_succeeded(page, server):
    definition = {
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": "builtin:fail",
                "End": True,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Refund"}],
            },
            "Refund": {"Type": "Pass", "End": True},
        },
    }
    server.call("POST", "/api/v1/flows/", {"name": "caught", "definition": definition})
    execution = server.post("/api/v1/flows/caught/executions/", {"input": {}})
    server.wait_terminal([execution["id"]], timeout=30)
    page.goto(f"{server.base_url}/executions/{execution['id']}/")
    page.wait_for_selector('[data-state="Charge"][data-status="caught"]')
    page.wait_for_selector('[data-state="Refund"][data-status="succeeded"]')


def test_an_invalid_input_is_reported_in_the_start_dialog(page, server):
    server.call("POST", "/api/v1/flows/", {"name": "sleepy2", "definition": SLEEPY})
    page.goto(server.base_url + "/flows/sleepy2/")
    page.click("[data-legato-open-start]")
    page.fill("#start-input", "{not json")
    page.click("[data-legato-start-dialog] button[type=submit]")
    error = page.wait_for_selector("[data-legato-json-error]:not(:empty)")
    assert error.inner_text().strip()
    assert page.url.endswith("/flows/sleepy2/")


def test_stopping_a_running_execution_from_the_page_aborts_it_without_reload(page, server):
    definition = {
        "StartAt": "Nap",
        "States": {
            "Nap": {
                "Type": "Task",
                "Resource": "builtin:sleep",
                "Parameters": {"seconds": 60},
                "End": True,
            }
        },
    }
    status, body = server.call(
        "POST", "/api/v1/flows/", {"name": "stoppable", "definition": definition}
    )
    assert status == 201, body
    execution = server.post("/api/v1/flows/stoppable/executions/", {"input": {}})
    page.goto(f"{server.base_url}/executions/{execution['id']}/")
    page.wait_for_selector('[data-state="Nap"][data-status="running"]', timeout=10_000)
    page.evaluate("window.__legatoNoReload = true")
    assert page.is_hidden('[data-legato-action="redrive"]')

    page.click('[data-legato-action="stop"]')
    page.click('[data-legato-dialog="stop"] button[type=submit]')  # no reason yet: refused here
    assert page.inner_text('[data-legato-dialog="stop"] [data-legato-field-error="reason"]').strip()
    page.fill("#stop-reason", "e2e: wrong input")
    page.click('[data-legato-dialog="stop"] button[type=submit]')

    page.wait_for_selector('[data-state="Nap"][data-status="aborted"]', timeout=10_000)
    page.wait_for_selector('[data-legato-status-badge][data-status="aborted"]')
    page.wait_for_selector('[data-legato-action="redrive"]:not([hidden])')
    assert page.is_hidden('[data-legato-action="stop"]')
    assert page.evaluate("window.__legatoNoReload") is True
    stopped = server.get(f"/api/v1/executions/{execution['id']}/")
    assert stopped["status"] == "ABORTED"
    assert stopped["cause"] == "e2e: wrong input"


def test_approving_a_waiting_callback_from_the_page_finishes_the_execution(page, server):
    definition = {
        "StartAt": "Approve",
        "States": {
            "Approve": {
                "Type": "Task",
                "Resource": "builtin:log.waitForTaskToken",
                "Parameters": {"message.$": "$$.Task.Token"},
                "Next": "Ship",
            },
            "Ship": {"Type": "Pass", "End": True},
        },
    }
    status, body = server.call(
        "POST", "/api/v1/flows/", {"name": "approval", "definition": definition}
    )
    assert status == 201, body
    execution = server.post("/api/v1/flows/approval/executions/", {"input": {"order": 7}})
    page.goto(f"{server.base_url}/executions/{execution['id']}/")
    card = page.wait_for_selector('.callback[data-state="Approve"]', timeout=15_000)
    assert "Waiting for a callback" in card.inner_text()
    page.evaluate("window.__legatoNoReload = true")

    page.fill('.callback[data-state="Approve"] textarea[name=output]', "{not json")
    page.click('.callback[data-state="Approve"] .btn--success')
    page.wait_for_selector('.callback[data-state="Approve"] .field__error:not(:empty)')
    page.fill(
        '.callback[data-state="Approve"] textarea[name=output]', json.dumps({"approved": True})
    )
    page.click('.callback[data-state="Approve"] .btn--success')

    page.wait_for_selector('[data-state="Ship"][data-status="succeeded"]', timeout=15_000)
    page.wait_for_selector('[data-legato-status-badge][data-status="succeeded"]', timeout=10_000)
    page.wait_for_selector("[data-legato-callbacks]", state="hidden", timeout=10_000)
    assert page.evaluate("window.__legatoNoReload") is True
    finished = server.get(f"/api/v1/executions/{execution['id']}/")
    assert finished["status"] == "SUCCEEDED"
    assert finished["output"] == {"approved": True}
