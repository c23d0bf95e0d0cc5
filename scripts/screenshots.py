"""Capture the README/docs screenshots from a real embedded server: `make screenshots`."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM_ARGS  # noqa: E402
from tests.support import stack  # noqa: E402

OUT = ROOT / "docs" / "images"


def main() -> None:
    from playwright.sync_api import sync_playwright

    data_dir = Path(tempfile.mkdtemp(prefix="legato-shots-"))
    env = stack.base_env(data_dir)
    port = stack.free_port()
    log = data_dir / "serve.log"
    process = stack.spawn(env, [stack.PYTHON, "manage.py", "serve", "--port", str(port)], log)
    base = f"http://127.0.0.1:{port}"
    try:
        stack.wait_healthy(base, process=process, log=log)
        api = stack.Api(base, stack.create_token(env))
        ok = api.post(
            "/api/v1/flows/order-saga/executions/",
            {"input": {"order": {"id": "A-1001", "total": 1250, "card": "visa"}}},
        )
        declined = api.post(
            "/api/v1/flows/order-saga/executions/",
            {"input": {"order": {"id": "A-1002", "total": 80, "card": "declined"}}},
        )
        api.post("/api/v1/flows/hello-world/executions/", {"input": {"name": "Ada"}})
        media = api.post(
            "/api/v1/flows/media-pipeline/executions/",
            {"input": {"video": "s3://uploads/launch.mp4", "flagged": True}},
        )
        api.wait_terminal([ok["id"], declined["id"], media["id"]], timeout=60)
        running = api.post(
            "/api/v1/flows/order-saga/executions/",
            {"input": {"order": {"id": "A-1003", "total": 1999, "card": "visa"}}},
        )
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for scheme in ("light", "dark"):
                context = browser.new_context(
                    viewport={"width": 1440, "height": 960},
                    color_scheme=scheme,
                    device_scale_factor=1,
                )
                page = context.new_page()
                page.goto(base + "/accounts/login/")
                if scheme == "light":
                    page.screenshot(path=OUT / "login.png")
                page.fill("#id_username", "admin")
                page.fill("#id_password", stack.ADMIN_PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(base + "/")
                shots = {
                    "dashboard": "/",
                    "flows": "/flows/",
                    "flow": "/flows/order-saga/",
                    "executions": "/executions/",
                    "execution": f"/executions/{declined['id']}/",
                    "execution-running": f"/executions/{running['id']}/",
                    "media-flow": "/flows/media-pipeline/",
                    "media-execution": f"/executions/{media['id']}/",
                }
                for name, path in shots.items():
                    page.goto(base + path)
                    if page.query_selector("[data-legato-graph]"):
                        page.wait_for_selector("[data-legato-render=done]")
                    page.wait_for_timeout(300)
                    suffix = "" if scheme == "light" else "-dark"
                    page.screenshot(path=OUT / f"{name}{suffix}.png", full_page=True)
                context.close()
            browser.close()
    finally:
        stack.stop(process)
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
