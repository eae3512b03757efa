"""Real requests through the proxy reach the status line's state, live, and never slow the traffic down.

A real proxy, a real TLS upstream and the real recorder writing into a temporary
CCPROMPT_HOME; the state is read back with the store and judged by core.signal, as the
status line does.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from harness.proxyrun import ProxyThread, request
from harness.sseapi import Script, SSEUpstream, json_script, message_stream

from ccprompt.core import store
from ccprompt.core.paths import Paths
from ccprompt.core.signal import assess
from ccprompt.sources.proxy.event import AttemptEvent
from ccprompt.sources.proxy.passive import PassiveRecorder, endpoint_for, to_passive
from ccprompt.sources.proxy.upstream import Upstream

BODY = json.dumps({"model": "claude-opus-test", "stream": True, "messages": []}).encode()
OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def headers(retry: int = 0, agent: str = "claude-cli/2.1.197 (external, cli)"):
    return [("User-Agent", agent), ("X-Stainless-Retry-Count", str(retry)), ("Content-Type", "application/json"),
            ("x-api-key", "sk-ant-test-not-a-real-key")]


@pytest.fixture
def upstream(tls_ca):
    with SSEUpstream(tls_ca) as api:
        yield api


@pytest.fixture
def paths(tmp_path):
    return Paths({"HOME": str(tmp_path), "CCPROMPT_HOME": str(tmp_path / "ccprompt")})


def running(api, recorder, **options) -> ProxyThread:
    return ProxyThread(Upstream(api.url + "/prefix", ca_file=api.ca_file), on_event=recorder, **options)


def post(proxy, retry=0, agent="claude-cli/2.1.197 (external, cli)"):
    return request("127.0.0.1", proxy.port, "/v1/messages?beta=true", body=BODY, headers=headers(retry, agent))


def passive_of(paths, endpoint, predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = store.read_state_for(paths, endpoint)
        if state is not None and predicate(state.passive):
            return state
        time.sleep(0.02)
    raise AssertionError(f"passive never matched: {state.passive.to_json() if state else None}")


def test_a_failing_attempt_turns_the_state_red_at_once_and_a_good_reply_green(upstream, paths):
    recorder = PassiveRecorder(paths, [endpoint_for(upstream.url + "/prefix")])
    upstream.script(json_script(OVERLOADED, status=529, extra_headers=(("retry-after", "7"),)),
                    Script(chunks=message_stream(), stall_after=2, stall_s=1.0))
    with running(upstream, recorder) as proxy:
        own_endpoint = f"{proxy.url}/v1/messages"
        assert post(proxy, retry=2).status == 529
        for endpoint in (endpoint_for(upstream.url + "/prefix"), own_endpoint):
            state = passive_of(paths, endpoint, lambda p: p.outcome == "error")
            passive = state.passive
            assert (passive.http_status, passive.error_type, passive.attempt) == (529, "overloaded_error", 3)
            signal = assess(state, None, time.time())
            assert (signal.status, signal.source) == ("error", "proxy")
            assert signal.cause == "529 overloaded · retry 2"
        # The next attempt streams, with a pause mid-body; the state turns green when it ends.
        reply = {}
        thread = threading.Thread(target=lambda: reply.update(got=post(proxy, retry=3)))
        thread.start()
        state = passive_of(paths, own_endpoint, lambda p: p.outcome == "ok")
        thread.join(10)
        assert reply["got"].body == b"".join(message_stream())
    passive = state.passive
    assert passive.http_status == 200 and passive.model == "claude-test-served" and passive.ttfb_ms > 0
    assert assess(state, None, time.time()).status == "healthy"
    assert not state.network.rolling_totals  # real requests never join the probe baseline


def test_the_response_start_is_recorded_before_the_failing_body_has_arrived(upstream, paths):
    recorder = PassiveRecorder(paths, [])
    upstream.script(Script(status=529, chunks=[json.dumps(OVERLOADED).encode()], stall_after=0, stall_s=2.0,
                           headers=(("content-type", "application/json"),)))
    with running(upstream, recorder) as proxy:
        endpoint = f"{proxy.url}/v1/messages"
        started = time.monotonic()
        worker = threading.Thread(target=post, args=(proxy,))
        worker.start()
        passive_of(paths, endpoint, lambda p: p.outcome == "error" and p.http_status == 529, timeout=1.5)
        assert time.monotonic() - started < 1.5, "the 529 waited for its body"
        worker.join(10)


def test_a_stall_and_its_end_are_recorded_while_the_stream_is_open(upstream, paths):
    recorder = PassiveRecorder(paths, [])
    upstream.script(Script(chunks=message_stream(), stall_after=3, stall_s=1.2))
    with running(upstream, recorder, stall_s=0.3) as proxy:
        endpoint = f"{proxy.url}/v1/messages"
        worker = threading.Thread(target=post, args=(proxy,))
        worker.start()
        state = passive_of(paths, endpoint, lambda p: p.outcome == "stall")
        assert 0 < state.passive.stall_since_ms <= time.time() * 1000
        signal = assess(state, None, time.time())
        assert signal.marker.startswith("⏳ stall") and signal.source == "proxy"
        worker.join(10)
        passive_of(paths, endpoint, lambda p: p.outcome == "ok")


def test_ccprompts_own_probe_through_the_proxy_is_not_a_real_request(upstream, paths):
    recorder = PassiveRecorder(paths, [])
    upstream.script(json_script(OVERLOADED, status=529))
    with running(upstream, recorder) as proxy:
        assert post(proxy, agent="ccprompt/0.1.0").status == 529
        time.sleep(0.5)
        state = store.read_state_for(paths, f"{proxy.url}/v1/messages")
    assert state is None or not state.passive.outcome


@pytest.mark.parametrize("failure", ["raises", "hangs"])
def test_a_broken_or_stuck_recorder_never_touches_the_forwarded_bytes(upstream, paths, failure):
    release = threading.Event()

    def record(paths, endpoint, passive):
        if failure == "raises":
            raise RuntimeError("disk on fire")
        release.wait(10)
        return True

    recorder = PassiveRecorder(paths, ["http://x/v1/messages"], record=record, limit=4)
    upstream.script(*[Script(chunks=message_stream())] * 20)
    try:
        with running(upstream, recorder) as proxy:
            started = time.monotonic()
            bodies = [post(proxy, retry=i).body for i in range(20)]
            elapsed = time.monotonic() - started
            counts = proxy.health()
    finally:
        release.set()
    assert bodies == [b"".join(message_stream())] * 20
    assert elapsed < 10
    if failure == "raises":
        assert counts["passive_failed"] >= 1 and counts["passive_written"] == 0
    else:
        assert counts["passive_dropped"] >= 1  # the queue stays bounded while the writer is stuck


@pytest.mark.parametrize("event", [
    {"kind": "attempt", "method": "HEAD", "path": "/", "status": 200, "outcome": "ok"},
    {"kind": "attempt", "method": "POST", "path": "/v1/messages/count_tokens", "status": 200, "outcome": "ok"},
    {"kind": "attempt", "method": "POST", "path": "/v1/messages", "status": 200, "outcome": "client_aborted"},
    {"kind": "response_start", "method": "POST", "path": "/v1/messages", "status": 200},
    {"kind": "attempt", "method": "POST", "path": "/v1/messages", "status": 200, "outcome": "ok", "probe": True},
])
def test_events_that_say_nothing_about_the_apis_health_make_no_record(event):
    assert to_passive(AttemptEvent.from_json(event), 1) is None


def test_an_unreachable_upstream_is_an_error_without_a_status():
    passive = to_passive(AttemptEvent.from_json({"kind": "attempt", "method": "POST", "path": "/p/v1/messages",
                                                 "status": None, "outcome": "upstream_unreachable",
                                                 "error_type": "upstream_unreachable", "attempt": 1}), 5)
    assert (passive.outcome, passive.http_status, passive.error_type, passive.at_ms) == (
        "error", 0, "upstream_unreachable", 5)


def test_the_endpoint_key_hides_a_password_like_the_status_lines_does():
    from ccprompt.sources import credentials

    base = "https://user:s3cret@gateway.example/anthropic/"
    expected = credentials.endpoint(Paths({"HOME": "/nonexistent", "ANTHROPIC_BASE_URL": base}))
    assert endpoint_for(base) == expected and "s3cret" not in expected


def test_the_same_request_sent_again_after_a_failure_is_the_next_attempt(upstream, paths):
    """Claude Code retries on its own with X-Stainless-Retry-Count: 0 every time: the proxy counts."""
    recorder = PassiveRecorder(paths, [])
    overloaded = json_script(OVERLOADED, status=529)
    upstream.script(overloaded, overloaded, Script(chunks=message_stream()), Script(chunks=message_stream()))
    with running(upstream, recorder) as proxy:
        endpoint = f"{proxy.url}/v1/messages"
        post(proxy)
        post(proxy)
        state = passive_of(paths, endpoint, lambda p: p.outcome == "error" and p.attempt == 2)
        assert assess(state, None, time.time()).cause == "529 overloaded · retry 1"
        post(proxy)
        passive_of(paths, endpoint, lambda p: p.outcome == "ok" and p.attempt == 3)
        post(proxy)  # after a success the same request starts over
        passive_of(paths, endpoint, lambda p: p.outcome == "ok" and p.attempt == 1)


def test_records_that_queued_up_behind_a_slow_write_are_written_once_as_the_newest(paths):
    """The state keeps only the newest real request, so a backlog costs one write, not one each."""
    first_write = threading.Event()
    release = threading.Event()
    written = []

    def record(paths, endpoint, passive):
        written.append((endpoint, passive.outcome, passive.attempt))
        first_write.set()
        release.wait(10)
        return True

    endpoints = ["http://a/v1/messages", "http://b/v1/messages"]
    recorder = PassiveRecorder(paths, endpoints, record=record)
    real = {"method": "POST", "path": "/v1/messages"}
    try:
        recorder(AttemptEvent.from_json({**real, "kind": "attempt", "status": 529, "outcome": "error", "attempt": 1}))
        assert first_write.wait(5)
        for attempt in (2, 3, 4):
            recorder(AttemptEvent.from_json({**real, "kind": "attempt", "status": 529, "outcome": "error",
                                             "attempt": attempt}))
        recorder(AttemptEvent.from_json({**real, "kind": "attempt", "status": 200, "outcome": "ok", "attempt": 5}))
    finally:
        release.set()
    recorder.close()
    assert written == [(endpoints[0], "error", 1), (endpoints[1], "error", 1),
                       (endpoints[0], "ok", 5), (endpoints[1], "ok", 5)]
    assert recorder.counts() == {"passive_written": 4, "passive_failed": 0, "passive_dropped": 0,
                                 "passive_coalesced": 3}


def test_the_state_is_written_by_the_real_recorder_as_compact_json(paths):
    recorder = PassiveRecorder(paths, ["http://a/v1/messages"])
    recorder(AttemptEvent.from_json({"method": "POST", "path": "/v1/messages", "kind": "attempt", "status": 200,
                                     "outcome": "ok", "attempt": 1, "ttfb_first_event_ms": 12.5}))
    recorder.close()
    state = store.read_state_for(paths, "http://a/v1/messages")
    assert state is not None and state.passive.outcome == "ok" and state.passive.ttfb_ms == 12.5
    raw = open(paths.state_file, encoding="utf-8").read()
    assert json.loads(raw)["passive"]["outcome"] == "ok" and "\n" not in raw.strip()
