"""The alert webhook URL is a secret: Slack- and Discord-style hooks hold their token in the path.
Whatever happens to the POST, no log line and no output shows the URL beyond its host."""
from __future__ import annotations

import http.server
import json
import logging
import socket
import threading

import pytest

from datalake.alerts import alert_task_failure, webhook_label

TOKEN = "xoxbSECRETtoken4f9a2c"


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path.startswith("/echo"):  # a hostile or buggy server: its reason phrase repeats the path
            self.send_response(404, f"no hook at {self.path}")
            self.end_headers()
            return
        _Hook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def hook_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CONTEXT = {"exception": RuntimeError("collect failed")}


def _alert(url, caplog, capsys) -> str:
    with caplog.at_level(logging.DEBUG):
        alert_task_failure(dict(CONTEXT), webhook_url=url)
    captured = capsys.readouterr()
    return caplog.text + captured.out + captured.err


@pytest.mark.parametrize("path", [
    f"/services/T0123/B0456/{TOKEN}",                       # Slack
    f"/api/webhooks/1234567890/{TOKEN}",                    # Discord
    f"/hook?token={TOKEN}",                                 # a token in the query
])
def test_a_hook_that_does_not_answer_is_logged_without_its_path(path, caplog, capsys):
    output = _alert(f"http://127.0.0.1:{_closed_port()}{path}", caplog, capsys)
    assert "did not accept the alert" in output
    assert TOKEN not in output
    assert path.split("?")[0] not in output
    assert "http://127.0.0.1:" in output  # the host is named, so the operator knows which hook


def test_a_server_that_echoes_the_path_in_its_error_does_not_leak_it(hook_server, caplog, capsys):
    output = _alert(f"{hook_server}/echo/services/T1/B2/{TOKEN}", caplog, capsys)
    assert "HTTPError" in output and "404" in output
    assert TOKEN not in output and "/services/" not in output


def test_a_url_urllib_cannot_use_is_logged_not_raised_and_not_shown(caplog, capsys):
    for url in (f"hooks.slack.com/services/T1/B2/{TOKEN}", f"https://hooks.example/{TOKEN}\n/x",
                f"http://hooks.example:99999/{TOKEN}"):
        output = _alert(url, caplog, capsys)
        assert "did not accept the alert" in output
        assert TOKEN not in output


def test_a_posted_alert_is_logged_with_the_host_only(hook_server, caplog, capsys):
    _Hook.received.clear()
    output = _alert(f"{hook_server}/services/T1/B2/{TOKEN}", caplog, capsys)
    assert [alert["error"] for alert in _Hook.received] == ["RuntimeError: collect failed"]
    assert "alert posted to the webhook" in output
    assert TOKEN not in output and "/services/" not in output


def test_webhook_label_keeps_scheme_host_and_port_only():
    assert webhook_label(f"https://hooks.slack.com/services/T1/B2/{TOKEN}") == "https://hooks.slack.com/…"
    assert webhook_label(f"https://discord.com/api/webhooks/1/{TOKEN}") == "https://discord.com/…"
    assert webhook_label(f"https://user:{TOKEN}@hooks.example:8443/x") == "https://hooks.example:8443/…"
    assert TOKEN not in webhook_label(f"not a url {TOKEN}")
