"""The proxy as an HTTP/1.1 peer: an outbound CONNECT proxy, pipelined and chunked requests, 100-continue, limits.

Real sockets on 127.0.0.1 throughout: a TLS SSE upstream, the harness's CONNECT proxy, and raw
client bytes where http.client cannot say what a test needs.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from harness import ConnectProxy
from harness.proxyrun import ProxyThread, request
from harness.sseapi import Script, SSEUpstream, message_stream

from ccprompt.sources.proxy import message as relay
from ccprompt.sources.proxy.upstream import Upstream

BODY = b'{"model":"claude-opus-test","stream":true,"messages":[]}'


@pytest.fixture
def upstream(tls_ca):
    with SSEUpstream(tls_ca) as api:
        yield api


def raw_exchange(port: int, data: bytes, until: bytes, timeout: float = 10.0) -> bytes:
    """Send raw bytes, read until `until` has been seen as many times as asked (or the peer closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while until not in received:
            piece = sock.recv(65536)
            if not piece:
                break
            received += piece
        return received


@pytest.mark.parametrize("auth", [None, ("user", "p@ss:word")])
def test_through_an_outbound_connect_proxy_the_stream_arrives_whole(upstream, auth):
    events = message_stream()
    upstream.script(Script(chunks=events), Script(chunks=events))
    with ConnectProxy(auth=auth) as outbound:
        url = outbound.url
        if auth:
            url = f"http://{auth[0]}:{auth[1].replace('@', '%40').replace(':', '%3A')}@{url[len('http://'):]}"
        with ProxyThread(Upstream(upstream.url, ca_file=upstream.ca_file, proxy_url=url)) as proxy:
            first = request("127.0.0.1", proxy.port, body=BODY)
            second = request("127.0.0.1", proxy.port, body=BODY)
    assert first.status == second.status == 200
    assert first.body == second.body == b"".join(events)
    assert len(outbound.connects) == 1  # the tunnel is pooled like any upstream connection
    if auth:
        assert outbound.requests[0].header("proxy-authorization", "").startswith("Basic ")


def test_a_refused_tunnel_is_a_502_that_says_so(upstream):
    with ConnectProxy(auth=("user", "pw")) as outbound:
        with ProxyThread(Upstream(upstream.url, ca_file=upstream.ca_file, proxy_url=outbound.url)) as proxy:
            got = request("127.0.0.1", proxy.port, body=BODY)
    assert got.status == 502
    assert json.loads(got.body)["error"]["message"] == (
        "ccprompt proxy: upstream unreachable: the outbound proxy refused the tunnel")
    assert upstream.seen == []


def test_pipelined_requests_are_answered_in_order(upstream):
    upstream.script(Script(chunks=[b"data: one\n\n"], length=True), Script(chunks=[b"data: two\n\n"], length=True))
    one = f"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: {len(BODY)}\r\n\r\n".encode() + BODY
    with ProxyThread(Upstream(upstream.url, ca_file=upstream.ca_file)) as proxy:
        got = raw_exchange(proxy.port, one + one, b"data: two\n\n")
    assert got.count(b"HTTP/1.1 200") == 2
    assert got.index(b"data: one") < got.index(b"data: two")
    assert [seen.body for seen in upstream.seen] == [BODY, BODY]


def test_a_chunked_request_goes_up_with_a_content_length(upstream):
    upstream.script(Script(chunks=[b"data: ok\n\n"]))
    wire = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + \
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY)
    with ProxyThread(Upstream(upstream.url, ca_file=upstream.ca_file)) as proxy:
        got = raw_exchange(proxy.port, wire, b"\r\n0\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 200") and b"data: ok" in got
    seen = upstream.seen[0]
    assert seen.body == BODY
    names = {name.lower(): value for name, value in seen.headers}
    assert names["content-length"] == str(len(BODY)) and "transfer-encoding" not in names


def test_expect_100_continue_is_answered_before_the_body(upstream):
    upstream.script(Script(chunks=[b"data: ok\n\n"]))
    head = (f"POST /v1/messages HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n"
            f"Content-Length: {len(BODY)}\r\n\r\n").encode()
    with ProxyThread(Upstream(upstream.url, ca_file=upstream.ca_file)) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
            sock.sendall(head)
            assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
            sock.sendall(BODY)
            got = b""
            while b"\r\n0\r\n\r\n" not in got:
                piece = sock.recv(65536)
                if not piece:
                    break
                got += piece
    assert got.startswith(b"HTTP/1.1 200") and upstream.seen[0].body == BODY


@pytest.mark.parametrize("wire, status", [
    (f"POST / HTTP/1.1\r\nContent-Length: {relay.MAX_REQUEST_BODY + 1}\r\n\r\n".encode(), 413),
    (b"POST / HTTP/1.1\r\nContent-Length: twelve\r\n\r\n", 400),
    (b"GARBAGE\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nX-Big: " + b"x" * (relay.MAX_HEADER_BYTES + 10), 431),
])
def test_what_cannot_be_forwarded_gets_one_json_error_and_a_close(upstream, wire, status):
    with ProxyThread(Upstream(upstream.url, ca_file=upstream.ca_file)) as proxy:
        got = raw_exchange(proxy.port, wire, b"\x00never")
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()) and b"Connection: close" in head
    assert json.loads(body)["type"] == "error"
    assert upstream.seen == []


class RawTLSUpstream:
    """A TLS server that answers each request on a connection with the next of `replies`, as raw bytes."""

    def __init__(self, tls_ca, replies) -> None:
        self.context = tls_ca.server_context("localhost", "127.0.0.1")
        self.replies = list(replies)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with self.listener, self.context.wrap_socket(self.listener.accept()[0], server_side=True) as conn:
            for reply in self.replies:
                received = b""
                while b"\r\n\r\n" not in received:
                    received += conn.recv(65536)
                head, _, body = received.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length:")))
                while len(body) < length:
                    body += conn.recv(65536)
                for piece in reply:
                    conn.sendall(piece)
                    time.sleep(0.05)
            time.sleep(2)


HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
EVENT = b'event: ping\ndata: {"type": "ping"}\n\n'


def test_an_upstream_whose_chunked_framing_breaks_breaks_the_client_stream(tls_ca, tmp_path):
    good = b"%x\r\n%s\r\n" % (len(EVENT), EVENT)
    upstream = RawTLSUpstream(tls_ca, [[HEAD + good, good, b"zz\r\n" + EVENT + b"\r\n"]])
    events = tmp_path / "requests.jsonl"
    with ProxyThread(Upstream(f"https://localhost:{upstream.port}", ca_file=tls_ca.ca_file),
                     events_path=str(events)) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
            sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
            received = b""
            while piece := sock.recv(65536):  # the proxy closes the connection
                received += piece
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not events.exists():
            time.sleep(0.02)
        recorded = [json.loads(line) for line in events.read_text().splitlines()]
    assert received.endswith(good + good) or received.endswith(good + good + b"zz\r\n" + EVENT + b"\r\n")
    assert received.count(EVENT) >= 2 and b"0\r\n\r\n" not in received  # never made to look complete
    attempt = next(event for event in recorded if event["kind"] == "attempt")
    assert attempt["outcome"] == "error" and attempt["detail"].startswith("upstream stream broken")


def test_bytes_after_the_end_of_a_reply_are_not_passed_on(tls_ca):
    whole = HEAD + b"%x\r\n%s\r\n0\r\n\r\n" % (len(EVENT), EVENT)
    upstream = RawTLSUpstream(tls_ca, [[whole + b"HTTP/1.1 200 OK\r\n\r\njunk"]])
    with ProxyThread(Upstream(f"https://localhost:{upstream.port}", ca_file=tls_ca.ca_file)) as proxy:
        got = request("127.0.0.1", proxy.port, body=BODY)
    assert got.status == 200 and got.body == EVENT


def test_an_http_10_client_gets_a_chunked_reply_as_plain_bytes_and_a_close(upstream):
    events = message_stream()
    upstream.script(Script(chunks=events))
    wire = b"POST /v1/messages HTTP/1.0\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
    with ProxyThread(Upstream(upstream.url, ca_file=upstream.ca_file)) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
            sock.sendall(wire)
            got = b""
            while piece := sock.recv(65536):  # the proxy closes: that is where the body ends
                got += piece
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"Connection: close" in head
    assert b"transfer-encoding" not in head.lower()
    assert body == b"".join(events)


def test_a_head_request_is_answered_with_the_head_alone(upstream):
    upstream.script(Script(chunks=[b'{"ok":true}'], headers=(("content-type", "application/json"),), length=True),
                    Script(chunks=[b"data: after\n\n"], length=True))
    with ProxyThread(Upstream(upstream.url, ca_file=upstream.ca_file)) as proxy:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        first = request("127.0.0.1", proxy.port, "/", method="HEAD", conn=conn)
        second = request("127.0.0.1", proxy.port, body=BODY, conn=conn)
        conn.close()
    assert first.status == 200 and first.body == b"" and first.header("content-length") == "11"
    assert second.status == 200 and second.body == b"data: after\n\n"
