"""The proxy's small shared parts: one NO_PROXY rule and one CONNECT request (with doctor), one status
table, the typed event, and what a capture file redacts."""

from __future__ import annotations

import pytest

from ccprompt.core import netproxy
from ccprompt.core.signal import HTTP_CAUSES, error_type_of
from ccprompt.ops.doctor import netpath
from ccprompt.sources.probe import error_type_for
from ccprompt.sources.proxy.event import AttemptEvent
from ccprompt.sources.proxy.sink import is_secret_header, redact_headers
from ccprompt.sources.proxy.upstream import Upstream


@pytest.mark.parametrize("host, port, no_proxy, bypassed", [
    ("api.anthropic.com", 443, "", False),
    ("api.anthropic.com", 443, "*", True),
    ("api.anthropic.com", 443, "anthropic.com", True),
    ("api.anthropic.com", 443, ".anthropic.com", True),
    ("api.anthropic.com", 443, "*.anthropic.com", True),
    ("notanthropic.com", 443, "anthropic.com", False),
    ("api.anthropic.com", 443, "localhost 127.0.0.1", False),
    ("api.anthropic.com", 443, "api.anthropic.com:443", True),
    ("api.anthropic.com", 443, "api.anthropic.com:8443", False),
    ("api.anthropic.com", None, "api.anthropic.com:8443", True),
    ("::1", 8080, "[::1]", True),
    ("::1", 8080, "[::1]:9090", False),
])
def test_doctor_and_the_proxy_read_no_proxy_by_one_rule(host, port, no_proxy, bypassed):
    assert netproxy.bypasses(host, port, no_proxy) is bypassed
    assert netpath.proxy_bypassed(host, no_proxy, port) is bypassed
    url = f"https://[{host}]:{port or 443}" if ":" in host else f"https://{host}:{port or 443}"
    upstream = Upstream(url, proxy_url="http://proxy.example:3128", no_proxy=no_proxy)
    if port is not None:
        assert (upstream.outbound_proxy() is None) is bypassed


def test_the_connect_request_and_its_answer():
    wire = netproxy.connect_request("::1", 443, "us%40er", "p:w")
    assert wire.startswith(b"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\nProxy-Authorization: Basic ")
    assert wire.endswith(b"\r\n\r\n")
    import base64

    token = wire.split(b"Basic ")[1].split(b"\r\n")[0]
    assert base64.b64decode(token) == b"us@er:p:w"
    assert netproxy.tunnel_status(b"HTTP/1.1 200 Connection established") == (200, "HTTP/1.1 200 Connection established")
    assert netproxy.tunnel_status(b"HTTP/1.0 407 Proxy Auth")[0] == 407
    assert netproxy.tunnel_status(b"SSH-2.0 200")[0] == 0
    assert netproxy.tunnel_status(b"HTTP/1.1 2000 OK")[0] == 0


@pytest.mark.parametrize("status, kind", [(400, "invalid_request_error"), (401, "authentication_error"),
                                          (413, "request_too_large"), (429, "rate_limit_error"),
                                          (500, "api_error"), (502, "server_error"), (503, "server_error"),
                                          (504, "timeout_error"), (529, "overloaded_error"), (418, "client_error")])
def test_one_status_table_for_the_probe_the_proxy_and_the_line(status, kind):
    assert error_type_of(status) == kind
    assert error_type_for(status, None) == kind
    if status in HTTP_CAUSES:
        assert HTTP_CAUSES[status].startswith(str(status))


def test_the_event_goes_to_json_and_back_unchanged():
    event = AttemptEvent(kind="attempt", ts=1.5, method="POST", path="/v1/messages", status=529,
                         error_type="overloaded_error", outcome="error", attempt=3, retry=2, usage={"input": 1},
                         upstream_conn={"new": True, "dns_ms": 0.1, "connect_ms": 2.0})
    line = event.to_json()
    assert line["kind"] == "attempt" and line["upstream_conn"]["connect_ms"] == 2.0 and "encoding" not in line
    assert AttemptEvent.from_json(line) == event
    start = AttemptEvent(kind="response_start", ts=1.0, status=200).to_json()
    assert "outcome" not in start and start["status"] == 200


@pytest.mark.parametrize("name, secret", [("x-api-key", True), ("anthropic-api-key", True), ("Authorization", True),
                                          ("Proxy-Authorization", True), ("Cookie", True), ("Set-Cookie", True),
                                          ("X-Auth-Token", True), ("x-client-secret", True), ("X-Goog-Api-Key", True),
                                          ("content-type", False), ("anthropic-version", False),
                                          ("x-claude-code-session-id", False)])
def test_capture_redacts_every_header_whose_name_says_key_token_auth_cookie_or_secret(name, secret):
    assert is_secret_header(name) is secret
    assert redact_headers([(name, "v")]) == [(name, "[redacted]" if secret else "v")]


@pytest.mark.parametrize("started, shown", [
    (1000 - 45, "45s"), (1000 - 192, "3m12s"), (1000 - 7500, "2h05m"), (1000 - 93600, "1d02h"),
    (2000, "0s"), ("yesterday", "16m40s"), ([1], "16m40s"), (None, "16m40s"),
])
def test_a_proxy_uptime_is_an_age_as_every_other_and_a_bad_start_never_raises(started, shown):
    from ccprompt.sources.proxy import lifecycle

    assert lifecycle.uptime({"started": started}, now=1000) == shown


def test_a_proxy_state_file_is_read_only_as_the_state_directory_rule_allows(tmp_path):
    import json
    import os

    from ccprompt.sources.proxy import lifecycle

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    good = {"port": 4321, "pid": os.getpid()}
    (home / "proxy-k.json").write_text(json.dumps(good))
    assert lifecycle.read_state(str(home), "k") == good
    (home / "proxy-k.json").write_text("[" * 60000 + "]" * 60000)
    assert lifecycle.read_state(str(home), "k") is None  # too deep: no traceback
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps(good))
    os.unlink(home / "proxy-k.json")
    os.symlink(elsewhere, home / "proxy-k.json")
    assert lifecycle.read_state(str(home), "k") is None  # never through a symlink
    os.unlink(home / "proxy-k.json")
    (home / "proxy-k.json").write_text(json.dumps(good))
    os.chmod(home, 0o777)
    assert lifecycle.read_state(str(home), "k") is None  # a directory others write to holds no state
    os.chmod(home, 0o700)
