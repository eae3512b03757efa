"""The proxy forwards real TLS traffic byte for byte and records one redacted event per attempt.

Every test runs a real keep-alive HTTPS upstream and the real proxy on 127.0.0.1;
the client is plain http.client, reading the body piece by piece as it arrives.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from harness import TEST_KEY, assert_no_secret, refused_port
from harness.proxyrun import ProxyThread, request
from harness.sseapi import Script, SSEUpstream, json_script, message_stream, sse

from ccprompt.sources.proxy import analysis
from ccprompt.sources.proxy.event import AttemptEvent
from ccprompt.sources.proxy.upstream import Upstream

BODY = json.dumps({"model": "claude-opus-test", "stream": True, "max_tokens": 64000,
                   "messages": [{"role": "user", "content": "a private prompt, never stored"}]}).encode()
CLIENT_HEADERS = [
    ("User-Agent", "claude-cli/2.1.197 (external, cli)"),
    ("x-app", "cli"),
    ("X-Claude-Code-Session-Id", "11111111-2222-3333-4444-555555555555"),
    ("anthropic-version", "2023-06-01"),
    ("anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14"),
    ("x-api-key", TEST_KEY),
    ("X-Stainless-Retry-Count", "0"),
    ("X-Stainless-Timeout", "600"),
    ("Accept-Encoding", "gzip, deflate, br, zstd"),
    ("Content-Type", "application/json"),
]


@pytest.fixture
def upstream(tls_ca):
    with SSEUpstream(tls_ca) as api:
        yield api


@pytest.fixture
def events_file(tmp_path) -> Path:
    return tmp_path / "home" / "requests.jsonl"


def proxy_for(api: SSEUpstream, events_file: Path | None = None, prefix: str = "", **options) -> ProxyThread:
    if events_file is not None:
        events_file.parent.mkdir(parents=True, exist_ok=True)
    return ProxyThread(Upstream(api.url + prefix, ca_file=api.ca_file),
                       events_path=str(events_file) if events_file else None, **options)


def post(proxy: ProxyThread, body: bytes = BODY, headers=CLIENT_HEADERS, path="/v1/messages?beta=true", **kw):
    return request("127.0.0.1", proxy.port, path, body=body, headers=headers, **kw)


def attempts(path: Path, n: int = 1, timeout: float = 5.0) -> list:
    """The `attempt` events in requests.jsonl, once at least n are there."""
    deadline = time.monotonic() + timeout
    found = []
    while time.monotonic() < deadline:
        if path.exists():
            found = [json.loads(line) for line in path.read_text().splitlines()]
            found = [e for e in found if e["kind"] == "attempt"]
            if len(found) >= n:
                return found
        time.sleep(0.02)
    raise AssertionError(f"expected {n} attempt event(s) in {path}, found {len(found)}")


class Collected(list):
    """An on_event callback that keeps what it is given, for tests to wait on."""

    def __call__(self, event):
        assert isinstance(event, AttemptEvent)  # typed all the way from the analysis
        self.append(event.to_json())

    def wait_for(self, predicate, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self):
                if predicate(event):
                    return event
            time.sleep(0.02)
        raise AssertionError(f"no matching event among {[e.get('kind') for e in self]}")


# -- transparency -----------------------------------------------------------------------------


def test_an_sse_stream_arrives_byte_identical_on_the_prefixed_path(upstream, events_file):
    with proxy_for(upstream, events_file, prefix="/gateway/anthropic") as proxy:
        got = post(proxy)
    assert got.status == 200
    assert got.body == b"".join(message_stream())
    assert upstream.seen[0].path == "/gateway/anthropic/v1/messages?beta=true"
    assert upstream.seen[0].body == BODY


def test_events_reach_the_client_as_they_are_sent_not_when_the_stream_ends(upstream):
    events = message_stream(n_deltas=8)
    upstream.script(Script(chunks=events, interval_s=0.08))
    with proxy_for(upstream) as proxy:
        got = post(proxy)
    sent = upstream.timelines[0].sent
    assert got.body == b"".join(events)
    first_arrival = got.arrivals[0][0]
    assert first_arrival < sent[-1] - 0.5, "the first event waited for the rest of the stream"
    assert len(got.arrivals) >= len(events) // 2, "events were delivered in a few big batches"


def test_a_gzipped_json_reply_is_forwarded_compressed_and_still_parsed(upstream, events_file):
    reply = {"id": "msg_1", "type": "message", "model": "claude-served-json", "stop_reason": "end_turn",
             "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "/x"}}],
             "usage": {"input_tokens": 7, "output_tokens": 3, "cache_read_input_tokens": 5}}
    script = json_script(reply, gzipped=True)
    upstream.script(script)
    with proxy_for(upstream, events_file) as proxy:
        got = post(proxy)
    assert got.header("Content-Encoding") == "gzip"
    assert got.body == script.chunks[0]
    assert json.loads(gzip.decompress(got.body)) == reply
    event = attempts(events_file)[0]
    assert event["encoding"] == "gzip" and event["stream"] is False
    assert event["model_served"] == "claude-served-json"
    assert event["usage"] == {"input": 7, "output": 3, "cache_read": 5}
    assert event["tools"] == {"count": 1, "names": ["Read"]}
    assert event["stop_reason"] == "end_turn"


HOP_BY_HOP_SENT = [("Connection", "keep-alive, X-Drop-Me"), ("Keep-Alive", "timeout=5"), ("TE", "trailers"),
                   ("Proxy-Authorization", "Basic c2VjcmV0"), ("X-Drop-Me", "named by Connection")]


def test_only_hop_by_hop_headers_are_dropped_on_the_way_up_and_down(upstream):
    extra = [("X-Custom", "kept"), ("X-Custom", "twice"), ("Cookie", "a=b")]
    reply_headers = (("content-type", "text/event-stream"), ("x-upstream", "one"), ("x-upstream", "two"),
                     ("anthropic-ratelimit-requests-remaining", "99"), ("Keep-Alive", "timeout=1"))
    upstream.script(Script(chunks=message_stream(), headers=reply_headers))
    sent = CLIENT_HEADERS + extra + HOP_BY_HOP_SENT
    with proxy_for(upstream) as proxy:
        got = post(proxy, headers=sent)
    seen = [(n, v) for n, v in upstream.seen[0].headers if n.lower() not in ("host", "content-length")]
    expected = [(n, v) for n, v in sent if n.lower() not in ("connection", "keep-alive", "te", "proxy-authorization",
                                                             "x-drop-me")]
    assert seen == expected
    received = [(n.lower(), v) for n, v in got.headers if n.lower() not in ("transfer-encoding", "connection")]
    assert ("x-upstream", "one") in received and ("x-upstream", "two") in received
    assert ("anthropic-ratelimit-requests-remaining", "99") in received
    assert "keep-alive" not in {n for n, _ in received}
    assert {n for n, _ in received} == {"content-type", "x-upstream", "anthropic-ratelimit-requests-remaining",
                                        "request-id", "server", "date"}


def test_sequential_requests_share_one_pooled_upstream_connection(upstream):
    with proxy_for(upstream) as proxy:
        for _ in range(10):
            assert post(proxy).status == 200
    assert len(upstream.seen) == 10
    assert upstream.connection_count == 1
    assert {seen.connection for seen in upstream.seen} == {1}


def test_fifty_concurrent_streams_lose_nothing(upstream, events_file):
    events = message_stream(n_deltas=20)
    upstream.default = Script(chunks=events, interval_s=0.01)
    results, errors = [], []

    def one():
        try:
            results.append(post(proxy).body)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    with proxy_for(upstream, events_file) as proxy:
        threads = [threading.Thread(target=one) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        recorded = attempts(events_file, 50)
    assert not errors
    assert len(results) == 50 and all(body == b"".join(events) for body in results)
    assert len(recorded) == 50 and {e["outcome"] for e in recorded} == {"ok"}
    assert all(e["events"] == len(events) for e in recorded)


def test_the_health_endpoint_is_answered_locally(upstream):
    with proxy_for(upstream) as proxy:
        health = proxy.health()
        bare = request("127.0.0.1", proxy.port, "/__ccprompt/health", method="GET")
        forged = request("127.0.0.1", proxy.port, "/__ccprompt/health?nonce=" + "0" * 32 + "&mac=" + "0" * 64,
                         method="GET")
    assert health["service"] == "ccprompt-proxy" and health["pid"] == os.getpid()
    assert health["upstream"] == upstream.url
    for refused in (bare, forged):  # without the secret: nothing, not even that it is a ccprompt proxy
        assert refused.status == 404
        assert b"ccprompt" not in refused.body and upstream.url.encode() not in refused.body
        assert str(os.getpid()).encode() not in refused.body
    assert upstream.seen == []


# -- fail-open ----------------------------------------------------------------------------------

HOSTILE = {
    "invalid sse": [b"this is: not\nan sse stream\n\n\n", b"data: {broken json\n\n", b"event: \xff\xfe\n\n"],
    "5 MB line": [b"data: " + b"x" * (5 * 1024 * 1024) + b"\n\n", sse("message_stop", {"type": "message_stop"})],
    "invalid utf-8": [b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":\xc3\x28\xa0\xa1}\n\n"],
    "binary noise": [bytes(range(256)) * 64, b"\r\r\n\n\x00\x00data:\n\n"],
    "wrong shapes": [sse("message_start", []), sse("message_delta", {"usage": "lots", "delta": 3}),
                     sse("content_block_start", {"content_block": {"type": "tool_use", "name": {"x": 1}}})],
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_streams_and_a_failing_analyzer_never_change_the_bytes(upstream, events_file, monkeypatch, name):
    chunks = HOSTILE[name]
    upstream.script(Script(chunks=chunks), Script(chunks=chunks))

    def boom(event):
        raise RuntimeError("recorder hook failed")

    with proxy_for(upstream, events_file, on_event=boom) as proxy:
        assert post(proxy).body == b"".join(chunks)
        recorded = attempts(events_file)
        assert recorded[0]["outcome"] == "ok"
        # The parser itself blowing up mid-stream: same bytes, the event says analysis failed.
        monkeypatch.setattr(analysis.SSEParser, "feed", lambda self, data: 1 / 0)
        assert post(proxy).body == b"".join(chunks)
        recorded = attempts(events_file, 2)
        health = proxy.server.health()
    assert health["callback_errors"] >= 2
    assert "analysis failed" in recorded[1].get("analysis", "")


def test_an_overflowing_analysis_queue_drops_analysis_not_bytes(upstream, events_file):
    chunks = [b"data: " + b"y" * 60000 + b"\n\n"] * 40
    upstream.script(Script(chunks=chunks))
    with proxy_for(upstream, events_file) as proxy:
        proxy.server.analyzer._feed._budget = 10_000  # less than one chunk: every chunk overflows
        assert post(proxy).body == b"".join(chunks)
        recorded = attempts(events_file)
    assert "queue full" in recorded[0]["analysis"]


@pytest.mark.parametrize("target", ["/dev/full", "directory"])
def test_a_failing_events_file_never_changes_the_bytes(upstream, tmp_path, target):
    path = Path("/dev/full") if target == "/dev/full" else tmp_path
    with ProxyThread(Upstream(upstream.url, ca_file=upstream.ca_file), events_path=str(path)) as proxy:
        for _ in range(3):
            assert post(proxy).body == b"".join(message_stream())
        deadline = time.monotonic() + 5
        while proxy.server.health()["sink_errors"] < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proxy.server.health()["sink_errors"] == 3


def test_an_unreachable_upstream_gets_an_anthropic_shaped_502(events_file):
    port = refused_port()
    with ProxyThread(Upstream(f"https://127.0.0.1:{port}"), events_path=str(events_file)) as proxy:
        events_file.parent.mkdir(parents=True, exist_ok=True)
        got = post(proxy)
        recorded = attempts(events_file)
    assert got.status == 502
    body = json.loads(got.body)
    assert body["type"] == "error" and body["error"]["type"] == "api_error"
    assert body["error"]["message"].startswith("ccprompt proxy: upstream unreachable: ")
    assert recorded[0]["outcome"] == "upstream_unreachable" and recorded[0]["status"] is None


def test_an_upstream_that_breaks_off_mid_stream_breaks_the_client_stream_too(upstream, events_file):
    events = message_stream()
    upstream.script(Script(chunks=events, cut_after=3))
    with proxy_for(upstream, events_file) as proxy:
        with pytest.raises((http.client.IncompleteRead, ConnectionError)):
            post(proxy)
        recorded = attempts(events_file)
    assert recorded[0]["outcome"] == "error"
    assert recorded[0]["detail"].startswith("upstream stream broken")


def test_a_client_that_hangs_up_is_recorded_as_aborted(upstream, events_file):
    upstream.script(Script(chunks=message_stream(n_deltas=40), interval_s=0.05))
    with proxy_for(upstream, events_file) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        conn.request("POST", "/v1/messages?beta=true", body=BODY, headers=dict(CLIENT_HEADERS))
        response = conn.getresponse()
        response.read1(100)
        conn.sock.close()
        conn.close()
        recorded = attempts(events_file)
    assert recorded[0]["outcome"] == "client_aborted"


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_the_proxy_is_busy_exactly_while_a_request_waits_for_its_first_byte(upstream, events_file):
    upstream.script(Script(chunks=message_stream(), stall_after=0, stall_s=0.5), Script(chunks=message_stream()))
    with proxy_for(upstream, events_file) as proxy:
        server = proxy.server
        assert not server.busy()
        got = {}
        client = threading.Thread(target=lambda: got.update(first=post(proxy)))
        client.start()
        assert wait_until(server.busy), "no request was counted as waiting for its first byte"
        client.join(10)
        assert got["first"].body == b"".join(message_stream())
        assert server.waiting == 0
        assert post(proxy).status == 200 and server.waiting == 0
        attempts(events_file, 2)


def test_a_request_that_ends_without_a_first_byte_is_no_longer_waiting(upstream, events_file):
    upstream.script(Script(chunks=message_stream(), stall_after=0, stall_s=2))
    with proxy_for(upstream, events_file) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        conn.request("POST", "/v1/messages?beta=true", body=BODY, headers=dict(CLIENT_HEADERS))
        conn.getresponse()  # the head has come; the body has not
        assert proxy.server.waiting == 1
        conn.sock.close()
        conn.close()
        assert attempts(events_file)[0]["outcome"] == "client_aborted"
        assert wait_until(lambda: proxy.server.waiting == 0)
    with ProxyThread(Upstream(f"https://127.0.0.1:{refused_port()}")) as proxy:
        assert post(proxy).status == 502
        assert wait_until(lambda: proxy.server.waiting == 0)


# -- what is recorded -------------------------------------------------------------------------


def test_a_successful_stream_is_recorded_with_its_numbers(upstream, events_file):
    upstream.script(Script(chunks=message_stream(n_deltas=3), interval_s=0.02, headers=(
        ("content-type", "text/event-stream"), ("anthropic-ratelimit-tokens-remaining", "4000"),
        ("anthropic-ratelimit-tokens-limit", "5000"))))
    live = Collected()
    with proxy_for(upstream, events_file, on_event=live) as proxy:
        post(proxy)
        event = attempts(events_file)[0]
    assert live[0]["kind"] == "response_start" and live[0]["status"] == 200
    assert event["session_id"] == "11111111-2222-3333-4444-555555555555"
    assert event["request_id"] == "req_sse0001"
    assert (event["attempt"], event["retry"], event["method"], event["path"]) == (1, 0, "POST", "/v1/messages")
    assert (event["model_requested"], event["model_served"]) == ("claude-opus-test", "claude-test-served")
    assert event["stream"] is True and event["status"] == 200 and event["error_type"] is None
    assert event["outcome"] == "ok" and event["stop_reason"] == "tool_use"
    assert event["usage"] == {"input": 12, "output": 42, "cache_read": 100, "cache_creation": 40,
                              "cache_creation_5m": 30, "cache_creation_1h": 10}
    assert event["tools"] == {"count": 1, "names": ["Bash"]}
    assert event["ratelimit"] == {"tokens": {"remaining": 4000, "limit": 5000}}
    assert 0 < event["ttfb_headers_ms"] <= event["ttfb_first_event_ms"] <= event["duration_ms"]
    assert event["max_gap_ms"] >= 15
    assert event["upstream_conn"]["new"] is True and event["upstream_conn"]["connect_ms"] > 0


def test_a_529_is_recorded_at_response_start_with_its_attempt(upstream, events_file):
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    upstream.script(json_script(error, status=529, extra_headers=(("retry-after", "7"),)))
    live = Collected()
    headers = [(n, "2" if n == "X-Stainless-Retry-Count" else v) for n, v in CLIENT_HEADERS]
    with proxy_for(upstream, events_file, on_event=live) as proxy:
        got = post(proxy, headers=headers)
        event = attempts(events_file)[0]
    assert got.status == 529 and json.loads(got.body) == error
    start = live.wait_for(lambda e: e["kind"] == "response_start")
    assert (start["status"], start["error_type"], start["attempt"]) == (529, "overloaded_error", 3)
    assert (event["status"], event["error_type"], event["outcome"]) == (529, "overloaded_error", "error")
    assert (event["attempt"], event["retry"], event["retry_after"]) == (3, 2, "7")


def test_an_sse_error_event_marks_a_200_stream_as_failed(upstream, events_file):
    chunks = message_stream()[:3] + [sse("error", {"type": "error", "error": {"type": "overloaded_error",
                                                                               "message": "Overloaded"}})]
    upstream.script(Script(chunks=chunks))
    with proxy_for(upstream, events_file) as proxy:
        assert post(proxy).body == b"".join(chunks)
        event = attempts(events_file)[0]
    assert (event["status"], event["error_type"], event["outcome"]) == (200, "overloaded_error", "error")


def test_a_stalled_stream_is_announced_while_it_stalls_and_measured_after(upstream, events_file):
    upstream.script(Script(chunks=message_stream(), stall_after=3, stall_s=1.0))
    live = Collected()
    with proxy_for(upstream, events_file, on_event=live, stall_s=0.3) as proxy:
        done = threading.Thread(target=post, args=(proxy,))
        done.start()
        stall = live.wait_for(lambda e: e["kind"] == "stall", timeout=3)
        assert not any(e["kind"] == "attempt" for e in live), "the stall notice came only after the stream"
        done.join(10)
        event = attempts(events_file)[0]
    assert stall["phase"] == "body" and stall["idle_ms"] >= 300
    assert live.wait_for(lambda e: e["kind"] == "resumed")
    assert event["max_gap_ms"] >= 900 and event["outcome"] == "ok"
    kinds = [json.loads(line)["kind"] for line in events_file.read_text().splitlines()]
    assert kinds == ["stall", "resumed", "attempt"]


def test_no_key_header_or_body_is_ever_written(upstream, events_file, tmp_path):
    capture = tmp_path / "capture"
    headers = CLIENT_HEADERS + [("Authorization", f"Bearer {TEST_KEY}"), ("Cookie", f"k={TEST_KEY}"),
                                ("anthropic-api-key", TEST_KEY), ("X-Session-Token", TEST_KEY),
                                ("x-client-secret", TEST_KEY), ("X-Proxy-Auth", TEST_KEY)]
    with proxy_for(upstream, events_file, capture_dir=str(capture)) as proxy:
        post(proxy, headers=headers)
        attempts(events_file)
    assert_no_secret(events_file)
    text = events_file.read_text()
    assert "a private prompt" not in text and "secret-tool-input" not in text and "word 1" not in text
    files = sorted(capture.iterdir())
    assert [f.suffix for f in files] == [".request", ".response"]
    assert_no_secret(capture)
    request_file = files[0].read_bytes()
    assert b"x-api-key: [redacted]" in request_file and b"Authorization: [redacted]" in request_file
    for name in (b"anthropic-api-key", b"X-Session-Token", b"x-client-secret", b"X-Proxy-Auth", b"Cookie"):
        assert name + b": [redacted]" in request_file
    assert request_file.endswith(BODY)  # capture mode is the one place bodies go, by request
    assert files[1].read_bytes().endswith(b"".join(message_stream()))
    for path in [events_file, *files]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(capture.stat().st_mode) == 0o700
