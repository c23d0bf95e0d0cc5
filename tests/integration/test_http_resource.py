"""The http task resource against a real local HTTP server (127.0.0.1 only)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workflows.engine import errors
from workflows.resources import TaskContext, invoke

CONTEXT = TaskContext("exec-1", "Call", 1, "exec-1:/Call@t")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path.startswith("/missing"):
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b'{"message": "no such thing"}')
            return
        if self.path.startswith("/elsewhere"):
            self.send_response(302)
            self.send_header("Location", "http://example.invalid/")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        echo = {"path": self.path, "key": self.headers.get("Idempotency-Key")}
        self.wfile.write(json.dumps(echo).encode())

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length))
        self.send_response(201)
        self.end_headers()
        self.wfile.write(json.dumps({"got": body}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def server(settings):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    settings.LEGATO = {**settings.LEGATO, "HTTP_ALLOWED_HOSTS": {"127.0.0.1"}}
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_a_get_returns_status_headers_and_the_parsed_json_body(server):
    result = invoke(
        "http", {"Method": "GET", "Url": f"{server}/items", "Query": {"page": 2}}, CONTEXT
    )["output"]
    assert result["StatusCode"] == 200
    assert result["ResponseBody"]["path"] == "/items?page=2"


def test_the_request_carries_the_idempotency_key(server):
    result = invoke("http", {"Url": f"{server}/x"}, CONTEXT)["output"]
    assert result["ResponseBody"]["key"] == CONTEXT.idempotency_key


def test_a_json_body_is_sent_as_json(server):
    result = invoke(
        "http", {"Method": "POST", "Url": f"{server}/orders", "Body": {"id": 7}}, CONTEXT
    )["output"]
    assert (result["StatusCode"], result["ResponseBody"]) == (201, {"got": {"id": 7}})


def test_a_404_fails_the_step_with_http_404(server):
    result = invoke("http", {"Url": f"{server}/missing"}, CONTEXT)
    assert result["error"] == "Http.404"


def test_http_4xx_in_error_equals_matches_any_client_error():
    assert errors.matches(["Http.4xx"], "Http.404")
    assert not errors.matches(["Http.5xx"], "Http.404")


def test_a_host_outside_the_allow_list_is_refused(server, settings):
    settings.LEGATO = {**settings.LEGATO, "HTTP_ALLOWED_HOSTS": set()}
    assert invoke("http", {"Url": f"{server}/x"}, CONTEXT)["error"] == "Legato.HttpHostNotAllowed"


def test_a_redirect_to_a_host_outside_the_allow_list_is_refused(server):
    result = invoke("http", {"Url": f"{server}/elsewhere"}, CONTEXT)
    assert result["error"] == "Legato.HttpHostNotAllowed"


def test_a_connection_failure_is_states_http_socket(settings):
    settings.LEGATO = {**settings.LEGATO, "HTTP_ALLOWED_HOSTS": {"127.0.0.1"}}
    result = invoke("http", {"Url": "http://127.0.0.1:9/", "TimeoutSeconds": 2}, CONTEXT)
    assert result["error"] == "States.Http.Socket"


def test_the_aws_http_invoke_field_names_work_too(server):
    result = invoke(
        "arn:aws:states:::http:invoke",
        {"ApiEndpoint": f"{server}/aws", "Method": "GET", "QueryParameters": {"q": "x"}},
        CONTEXT,
    )["output"]
    assert result["ResponseBody"]["path"] == "/aws?q=x"
