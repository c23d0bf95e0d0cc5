"""A real embedded-mode server (``manage.py serve``) and a real Chromium for browser tests."""

from __future__ import annotations

import pytest

from tests.support import stack

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("e2e")
    port = stack.free_port()
    env = stack.base_env(data_dir)
    log = data_dir / "serve.log"
    process = stack.spawn(env, [stack.PYTHON, "manage.py", "serve", "--port", str(port)], log)
    base_url = f"http://127.0.0.1:{port}"
    try:
        stack.wait_healthy(base_url, process=process, log=log)
        api = stack.Api(base_url, stack.create_token(env))
        yield api
    finally:
        stack.stop(process)


@pytest.fixture(scope="session")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def csp_violations():
    """Console reports of Content-Security-Policy violations; none may happen in a test."""
    violations: list[str] = []
    yield violations
    assert violations == []


@pytest.fixture
def page(browser, server, csp_violations):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and csp_violations.append(message.text)
        ),
    )
    page.goto(server.base_url + "/accounts/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", stack.ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.base_url + "/")
    yield page
    context.close()
