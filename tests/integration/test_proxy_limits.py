"""The proxy stays bounded under abuse: head, body and idle timeouts, a connection cap, a budget of
buffered request bytes; and none of it ever cuts a stream being answered, however slow.

Real sockets against a real TLS upstream, with the limits made small so the tests run in seconds.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from harness.proxyrun import ProxyThread, request
from harness.sseapi import Script, SSEUpstream, message_stream

from ccprompt.sources.proxy.limits import Limits, raise_open_files
from ccprompt.sources.proxy.upstream import Upstream

BODY = b'{"model":"claude-opus-test","stream":true,"messages":[]}'
POST = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"


@pytest.fixture
def upstream(tls_ca):
    with SSEUpstream(tls_ca) as api:
        yield api


def proxy_with(upstream, **limits):
    return ProxyThread(Upstream(upstream.url, ca_file=upstream.ca_file), limits=Limits(**limits))


def read_all(sock, timeout: float = 15.0) -> tuple[bytes, float]:
    """Everything until the proxy closes the connection, and when it did."""
    sock.settimeout(timeout)
    received = b""
    while True:
        try:
            piece = sock.recv(65536)
        except ConnectionResetError:
            piece = b""
        if not piece:
            return received, time.monotonic()
        received += piece


def test_a_slowloris_head_at_one_byte_a_second_is_cut_at_the_head_timeout(upstream):
    with proxy_with(upstream, head_timeout_s=1.5) as proxy:
        sock = socket.create_connection(("127.0.0.1", proxy.port))
        started = time.monotonic()
        closed = threading.Event()

        def trickle():
            for byte in b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"y" * 60:
                if closed.is_set():
                    return
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    return
                time.sleep(1.0)

        threading.Thread(target=trickle, daemon=True).start()
        got, ended = read_all(sock)
        closed.set()
        sock.close()
    assert got.startswith(b"HTTP/1.1 408 ") and b"Connection: close" in got
    assert 1.4 < ended - started < 8.0
    assert upstream.seen == []


def test_a_body_that_trickles_is_cut_at_the_body_timeout(upstream):
    with proxy_with(upstream, body_timeout_s=1.5) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port)) as sock:
            sock.sendall(POST % len(BODY) + BODY[:5])
            started = time.monotonic()
            got, ended = read_all(sock)
    assert got.startswith(b"HTTP/1.1 408 ")
    assert 1.4 < ended - started < 8.0
    assert upstream.seen == []


def test_an_idle_connection_is_closed_after_the_idle_timeout_and_a_used_one_too(upstream):
    upstream.script(Script(chunks=[b"data: one\n\n"], length=True))
    with proxy_with(upstream, idle_timeout_s=1.5) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port)) as never_spoke:
            started = time.monotonic()
            got, ended = read_all(never_spoke)
        assert got == b"" and 1.4 < ended - started < 8.0
        with socket.create_connection(("127.0.0.1", proxy.port)) as used:
            used.sendall(POST % len(BODY) + BODY)
            got, ended = read_all(used)
        assert got.startswith(b"HTTP/1.1 200 ") and got.endswith(b"data: one\n\n")
        assert proxy.server.health()["connections"] == 0


def test_a_slow_stream_outlives_every_timeout_untouched(upstream):
    """Events 1.2 s apart for about 7 s, with every timeout at 1 s: the stream is never cut."""
    events = message_stream(n_deltas=3)
    upstream.script(Script(chunks=events, interval_s=1.2), Script(chunks=events))
    with proxy_with(upstream, head_timeout_s=1.0, body_timeout_s=1.0, idle_timeout_s=1.0) as proxy:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
        first = request("127.0.0.1", proxy.port, body=BODY, conn=conn)
        second = request("127.0.0.1", proxy.port, body=BODY, conn=conn)  # the same connection, kept alive
        conn.close()
    assert first.status == 200 and first.body == b"".join(events)
    assert first.arrivals[-1][0] - first.started > 1.2 * (len(events) - 1) - 0.5
    assert second.status == 200 and second.body == b"".join(events)
    assert len({seen.connection for seen in upstream.seen}) == 1


def test_past_the_connection_cap_a_new_client_gets_a_503_while_streams_flow(upstream):
    events = message_stream(n_deltas=4)
    upstream.script(Script(chunks=events, interval_s=0.3))
    with proxy_with(upstream, max_connections=16, head_timeout_s=30) as proxy:
        got = {}
        stream = threading.Thread(target=lambda: got.update(stream=request("127.0.0.1", proxy.port, body=BODY)))
        stream.start()
        time.sleep(0.3)
        holders = []
        for _ in range(15):  # heads begun, never finished: none of them idle
            sock = socket.create_connection(("127.0.0.1", proxy.port))
            sock.sendall(b"POST /v1/messages HTTP/1.1\r\n")
            holders.append(sock)
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", proxy.port)) as late:
            refused, _ = read_all(late, 5)
        stream.join(15)
        counts = proxy.server.health()
        for sock in holders:
            sock.close()
    assert refused.startswith(b"HTTP/1.1 503 ") and b"too many connections" in refused
    assert b"Connection: close" in refused
    assert got["stream"].status == 200 and got["stream"].body == b"".join(events)
    assert counts["connections_refused"] == 1


def test_at_the_cap_the_longest_idle_connection_makes_room(upstream):
    upstream.script(Script(chunks=[b"data: ok\n\n"], length=True))
    with proxy_with(upstream, max_connections=16) as proxy:
        idle = [socket.create_connection(("127.0.0.1", proxy.port)) for _ in range(16)]
        time.sleep(0.2)
        answer = request("127.0.0.1", proxy.port, body=BODY)
        oldest, _ = read_all(idle[0], 5)
        for sock in idle:
            sock.close()
    assert answer.status == 200 and answer.body == b"data: ok\n\n"
    assert oldest == b""  # closed without a word, as an idle keep-alive connection is


def test_parked_bodies_are_held_to_the_budget_and_a_real_request_still_goes_through(upstream):
    """Twelve clients each announce 64 MiB and send 6 MiB: the proxy stops reading them at the budget."""
    upstream.script(Script(chunks=[b"data: ok\n\n"], length=True))
    budget = 16 * 1024 * 1024
    piece = b"x" * (1024 * 1024)
    with proxy_with(upstream, buffer_bytes=budget, body_timeout_s=4.0) as proxy:
        parked = []
        for _ in range(12):
            sock = socket.create_connection(("127.0.0.1", proxy.port))
            sock.setblocking(False)
            try:
                sock.send(POST % (64 * 1024 * 1024))
                for _ in range(6):
                    sock.send(piece)
            except BlockingIOError:
                pass  # the proxy has stopped reading this one
            parked.append(sock)
        time.sleep(1.0)
        held = proxy.server.budget.held
        peak = proxy.server.budget.peak
        answer = request("127.0.0.1", proxy.port, body=BODY, timeout=30)  # a small body is never held back
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proxy.server.health()["connections"]:
            time.sleep(0.1)
        after = proxy.server.health()  # the parked ones timed out and gave their bytes back
        answers = [read_all(sock, 5)[0] for sock in parked]
        for sock in parked:
            sock.close()
    assert held <= budget + 12 * 512 * 1024, held  # at most about one read past the budget per client
    assert peak < 12 * 6 * 1024 * 1024
    assert answer.status == 200
    assert after["buffered_request_bytes"] == 0 and after["connections"] == 0
    assert all(got.startswith(b"HTTP/1.1 408 ") for got in answers)


def test_the_open_file_limit_is_raised_to_the_hard_limit():
    import resource

    allowed = raise_open_files()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft == hard or hard == resource.RLIM_INFINITY or hard > 1 << 20
    assert allowed == max(16, (soft - 64) // 2)
