"""Start real Legato processes (web, workers, sweeper) for end-to-end and scaled tests."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
ADMIN_PASSWORD = "legato-test-pw-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        LEGATO_DATA_DIR=str(data_dir),
        LEGATO_ADMIN_PASSWORD=ADMIN_PASSWORD,
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def spawn(env: dict[str, str], args: list[str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, wait: float = 15) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(wait)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def wait_healthy(base_url: str, timeout: float = 60, process: Any = None, log: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text() if log else ''}")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{base_url} not healthy: {log.read_text() if log else ''}")


class Api:
    """A tiny token-authenticated JSON client (no third-party HTTP library needed)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.token = token

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,  # noqa: S310
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def get(self, path: str) -> Any:
        return self.call("GET", path)[1]

    def post(self, path: str, body: Any) -> Any:
        return self.call("POST", path, body)[1]

    def wait_terminal(self, ids: list[str], timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        done: dict[str, Any] = {}
        while time.monotonic() < deadline and len(done) < len(ids):
            for execution_id in ids:
                if execution_id not in done:
                    body = self.get(f"/api/v1/executions/{execution_id}/")
                    if body["status"] != "RUNNING":
                        done[execution_id] = body
            time.sleep(0.2)
        return done


def create_token(env: dict[str, str], user: str = "admin") -> str:
    """A new API key for ``user`` (replacing any they had: keys are stored hashed)."""
    return manage(env, "api_token", user).strip()


def sign_in(
    base_url: str, username: str, password: str, headers: dict[str, str] | None = None
) -> tuple[int, str | None]:
    """Log in through the login form, as a browser would: the status of the answer to the
    form, and the Cookie header of the signed-in session (None when it did not sign in)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    page = opener.open(base_url + "/accounts/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token, "next": "/"}
    ).encode()
    request = urllib.request.Request(
        base_url + "/accounts/login/",
        data=form,  # noqa: S310
        headers={"Referer": base_url + "/accounts/login/", **(headers or {})},
    )
    try:
        status = opener.open(request, timeout=10).status
    except urllib.error.HTTPError as exc:
        status = exc.code
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return status, cookie if any(c.name == "sessionid" for c in jar) else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 302 after a sign-in is the answer to look at


def session_cookie(base_url: str, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
    """Log in through the login form, as a browser would; return the Cookie header."""
    status, cookie = sign_in(base_url, username, password)
    if cookie is None:
        raise RuntimeError(f"could not sign in as {username!r}: HTTP {status}")
    return cookie
