"""Proves the test harness itself with real pycurl, independently of the ccprompt package."""

from __future__ import annotations

import io
import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pycurl
import pytest

from harness.fakeapi import LOOKUP_HOST
from harness import (
    TEST_KEY,
    ConnectProxy,
    PlainTCPServer,
    SilentServer,
    UntrustedTLSServer,
    WrongHostTLSServer,
    assert_no_secret,
    refused_port,
    run_python,
)

REQUEST = {"model": "claude-sonnet-4-20250514", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}


@dataclass
class CurlResult:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    timings_us: dict[str, int] = field(default_factory=dict)

    @property
    def json(self):
        return json.loads(self.body)


def curl(url: str, ca_file: str, *, timeout_ms: int = 5000, proxy: str = "", proxy_userpwd: str | None = None) -> CurlResult:
    """POST a Messages request with pycurl; pycurl.error propagates."""
    buffer = io.BytesIO()
    headers: dict[str, str] = {}

    def on_header(line: bytes) -> None:
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()

    handle = pycurl.Curl()
    try:
        handle.setopt(pycurl.URL, url)
        handle.setopt(pycurl.CAINFO, ca_file)
        # "" disables proxies outright, so *_proxy variables on the host can't interfere.
        handle.setopt(pycurl.PROXY, proxy)
        if proxy_userpwd is not None:
            handle.setopt(pycurl.PROXYUSERPWD, proxy_userpwd)
        handle.setopt(pycurl.POSTFIELDS, json.dumps(REQUEST))
        handle.setopt(pycurl.HTTPHEADER, [f"x-api-key: {TEST_KEY}", "content-type: application/json",
                                          "anthropic-version: 2023-06-01"])
        handle.setopt(pycurl.TIMEOUT_MS, timeout_ms)
        handle.setopt(pycurl.NOSIGNAL, 1)
        handle.setopt(pycurl.WRITEDATA, buffer)
        handle.setopt(pycurl.HEADERFUNCTION, on_header)
        handle.perform()
        timings = {name: handle.getinfo(getattr(pycurl, f"{name.upper()}_TIME_T"))
                   for name in ("namelookup", "connect", "appconnect", "starttransfer", "total")}
        return CurlResult(handle.getinfo(pycurl.RESPONSE_CODE), buffer.getvalue(), headers, timings)
    finally:
        handle.close()


def curl_error(url: str, ca_file: str, **kwargs) -> tuple[int, float]:
    """Expect the transfer to fail; return (libcurl error code, seconds taken)."""
    started = time.monotonic()
    with pytest.raises(pycurl.error) as excinfo:
        curl(url, ca_file, **kwargs)
    return excinfo.value.args[0], time.monotonic() - started


# -- FakeAPI ---------------------------------------------------------------


def test_ok_response_with_nonzero_phase_timings(fake_api):
    result = curl(fake_api.messages_url, fake_api.ca_file)

    assert result.status == 200
    assert result.json["type"] == "message"
    assert result.json["model"] == REQUEST["model"]
    assert result.headers["request-id"].startswith("req_")
    assert result.headers["content-type"] == "application/json"
    for phase in ("namelookup", "connect", "appconnect"):
        assert result.timings_us[phase] > 0, phase

    (request,) = fake_api.wait_for_requests(1, timeout=2)
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.header("X-API-Key") == TEST_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.json == REQUEST
    assert request["request_id"] == result.headers["request-id"]


def test_error_status_gets_anthropic_error_body(fake_api):
    fake_api.respond(status=529, headers={"retry-after": "3"})
    result = curl(fake_api.messages_url, fake_api.ca_file)

    assert result.status == 529
    assert result.json["type"] == "error"
    assert result.json["error"]["type"] == "overloaded_error"
    assert result.json["request_id"] == result.headers["request-id"]
    assert result.headers["retry-after"] == "3"


def test_delay_slows_time_to_first_byte(fake_api):
    fake_api.respond(delay_s=0.6)
    started = time.monotonic()
    result = curl(fake_api.messages_url, fake_api.ca_file)

    assert result.status == 200
    assert time.monotonic() - started >= 0.6
    assert result.timings_us["starttransfer"] >= 600_000
    assert result.timings_us["appconnect"] < 600_000  # the delay is after the handshake


def test_hang_hits_client_timeout(fake_api):
    fake_api.respond(hang=True)
    code, elapsed = curl_error(fake_api.messages_url, fake_api.ca_file, timeout_ms=500)

    assert code == pycurl.E_OPERATION_TIMEDOUT  # 28
    assert 0.4 <= elapsed < 2.0
    assert fake_api.request_count == 1


def test_close_without_reply_is_an_empty_reply(fake_api):
    fake_api.respond(close_without_reply=True)
    code, _ = curl_error(fake_api.messages_url, fake_api.ca_file)

    assert code == pycurl.E_GOT_NOTHING  # 52: orderly close (TLS close_notify) before any byte


def test_sequence_then_default(fake_api):
    fake_api.respond(status=200)
    fake_api.respond_sequence([{"status": 529}, {"status": 429, "headers": {"retry-after": "1"}}])

    statuses = [curl(fake_api.messages_url, fake_api.ca_file).status for _ in range(4)]

    assert statuses == [529, 429, 200, 200]
    ids = [r.request_id for r in fake_api.requests]
    assert len(set(ids)) == 4


def test_serves_concurrent_connections(fake_api):
    fake_api.respond(delay_s=0.3)
    statuses: list[int] = []
    workers = [threading.Thread(target=lambda: statuses.append(curl(fake_api.messages_url, fake_api.ca_file).status))
               for _ in range(20)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=10)

    assert statuses == [200] * 20
    assert time.monotonic() - started < 3  # in parallel, not 20 x 0.3 s


def test_stop_does_not_block_on_hung_handler(fake_api):
    fake_api.respond(hang=True)
    client = threading.Thread(target=lambda: curl_error(fake_api.messages_url, fake_api.ca_file, timeout_ms=5000))
    client.start()
    fake_api.wait_for_requests(1, timeout=2)

    started = time.monotonic()
    fake_api.stop()
    client.join(timeout=5)

    assert time.monotonic() - started < 2
    assert not client.is_alive()  # the hung connection was dropped, not left to time out


# -- hostile peers ---------------------------------------------------------


def test_untrusted_certificate_fails_verification(tls_ca):
    with UntrustedTLSServer() as server:
        code, _ = curl_error(server.url, tls_ca.ca_file)
    assert code == pycurl.E_PEER_FAILED_VERIFICATION  # 60


def test_wrong_hostname_fails_verification(tls_ca):
    with WrongHostTLSServer(tls_ca) as server:
        code, _ = curl_error(server.url, tls_ca.ca_file)
    assert code in (pycurl.E_PEER_FAILED_VERIFICATION, 51)  # 51 was the pre-7.62 code


def test_plain_tcp_fails_tls_handshake(tls_ca):
    with PlainTCPServer() as server:
        code, _ = curl_error(f"https://localhost:{server.port}", tls_ca.ca_file)
        assert server.connection_count == 1
    assert code == pycurl.E_SSL_CONNECT_ERROR  # 35


def test_silent_peer_times_out_in_handshake(tls_ca):
    with SilentServer() as server:
        code, elapsed = curl_error(server.url, tls_ca.ca_file, timeout_ms=500)
    assert code == pycurl.E_OPERATION_TIMEDOUT
    assert elapsed < 2.0


def test_refused_port(tls_ca):
    code, _ = curl_error(f"https://localhost:{refused_port()}", tls_ca.ca_file)
    assert code == pycurl.E_COULDNT_CONNECT  # 7


# -- CONNECT proxy ---------------------------------------------------------


def test_connect_proxy_tunnels_and_records_target(fake_api):
    with ConnectProxy() as proxy:
        result = curl(fake_api.messages_url, fake_api.ca_file, proxy=proxy.url)

    assert result.status == 200
    assert proxy.connects == [f"{LOOKUP_HOST}:{fake_api.port}"]
    assert proxy.requests[0].header("Proxy-Authorization") is None
    assert fake_api.request_count == 1


def test_connect_proxy_demands_credentials(fake_api):
    with ConnectProxy(auth=("user", "pw")) as proxy:
        code, _ = curl_error(fake_api.messages_url, fake_api.ca_file, proxy=proxy.url)
        result = curl(fake_api.messages_url, fake_api.ca_file, proxy=proxy.url, proxy_userpwd="user:pw")

    # "CONNECT tunnel failed, response 407": error 56 in older libcurl, 7 in current releases.
    assert code in (pycurl.E_RECV_ERROR, pycurl.E_COULDNT_CONNECT)
    assert result.status == 200
    assert proxy.requests[-1].header("proxy-authorization", "").startswith("Basic ")


# -- environment, subprocess runner, leak check ----------------------------


def test_cc_env_is_built_from_scratch(cc_env, fake_api, tmp_path):
    assert set(cc_env) == {"PATH", "HOME", "CCPROMPT_HOME", "XDG_CONFIG_HOME", "ANTHROPIC_BASE_URL",
                           "SSL_CERT_FILE", "LANG", "ANTHROPIC_API_KEY", "CCPROMPT_STATUSPAGE_URL"}
    assert cc_env["CCPROMPT_STATUSPAGE_URL"] == ""  # no test ever reaches the real status page
    assert cc_env["ANTHROPIC_BASE_URL"] == fake_api.url
    assert cc_env["SSL_CERT_FILE"] == fake_api.ca_file
    assert cc_env["ANTHROPIC_API_KEY"] == TEST_KEY
    assert Path(cc_env["HOME"]) == tmp_path / "home" and Path(cc_env["HOME"]).is_dir()


def test_run_python_uses_only_the_given_env(cc_env, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/nonexistent.pem")
    result = run_python("-c", "import json, os; print(json.dumps({'env': dict(os.environ), 'cwd': os.getcwd()}))",
                        env=cc_env)

    seen = json.loads(result.stdout)
    assert "HTTPS_PROXY" not in seen["env"] and "CURL_CA_BUNDLE" not in seen["env"]
    assert seen["env"]["HOME"] == cc_env["HOME"]
    assert Path(seen["cwd"]) == Path(__file__).resolve().parents[2]


def test_assert_no_secret_finds_planted_secret(tmp_path):
    (tmp_path / "clean.txt").write_text("nothing to see")
    assert_no_secret(tmp_path, "plain text", b"bytes")

    planted = tmp_path / "a" / "b" / "state.json"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b'{"key": "' + TEST_KEY.encode() + b'"}')
    with pytest.raises(AssertionError, match=r"state\.json") as excinfo:
        assert_no_secret(tmp_path)
    assert TEST_KEY not in str(excinfo.value)  # the report redacts what it found

    with pytest.raises(AssertionError, match="text argument #1"):
        assert_no_secret("ok", f"Bearer {TEST_KEY}")
    leaky = subprocess.CompletedProcess(["x"], 1, stdout="", stderr=f"error: key {TEST_KEY}")
    with pytest.raises(AssertionError, match="process stderr"):
        assert_no_secret(leaky)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_assert_no_secret_skips_special_files(tmp_path):
    os.mkfifo(tmp_path / "pipe")  # reading it would block forever
    assert_no_secret(tmp_path)
