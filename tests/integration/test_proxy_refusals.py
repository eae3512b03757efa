"""What RFC 9112 says to refuse is refused: a 400 (431, 413) and a closed connection, and the upstream reads nothing.

The upstream is a real nginx that logs every request it reads, with `x-api-key` and
`x-forwarded-for`: a header hidden behind a bare LF, CR or NUL, or a request smuggled in a body
under a second Content-Length, would be a line of its log. Before httptools, each of these went
through (issue 19).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import pytest

from harness.nginx import NginxUpstream, nginx_binary
from harness.proxyrun import ProxyThread

from ccprompt.sources.proxy.message import MAX_HEADER_BYTES
from ccprompt.sources.proxy.upstream import Upstream

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed")

HEAD = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\nX-Api-Key: sk-hidden\r\n\r\n"


@pytest.fixture(scope="module")
def nginx():
    with NginxUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def proxy(nginx):
    with ProxyThread(Upstream(nginx.url)) as running:
        yield running


def exchange(port: int, wire: bytes, timeout: float = 10.0) -> bytes:
    """Send raw bytes; everything the proxy answers until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(wire)
        received = b""
        while True:
            try:
                piece = sock.recv(65536)
            except ConnectionResetError:
                break
            if not piece:
                break
            received += piece
        return received


REFUSED = {
    "two Content-Length values, a request in the rest": HEAD + b"Content-Length: 0\r\nContent-Length: %d\r\n\r\n%s"
    % (len(SMUGGLED), SMUGGLED),
    "the same Content-Length twice": HEAD + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
    "a Content-Length list": HEAD + b"Content-Length: 2, 2\r\n\r\n{}",
    "Content-Length with Transfer-Encoding": HEAD + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"2\r\n{}\r\n0\r\n\r\n",
    "Transfer-Encoding: gzip alone": HEAD + b"Transfer-Encoding: gzip\r\n\r\n" + SMUGGLED,
    "Transfer-Encoding: chunked, gzip": HEAD + b"Transfer-Encoding: chunked, gzip\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    "Transfer-Encoding: gzip, chunked": HEAD + b"Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    "two Transfer-Encoding headers": HEAD + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"2\r\n{}\r\n0\r\n\r\n",
    "a bare LF inside a header value": HEAD + b"X-Note: a\nX-Api-Key: sk-hidden\nX-Forwarded-For: 6.6.6.6\r\n"
    b"Content-Length: 2\r\n\r\n{}",
    "a bare CR inside a header value": HEAD + b"X-Note: a\rX-Api-Key: sk-hidden\r\nContent-Length: 2\r\n\r\n{}",
    "a NUL inside a header value": HEAD + b"X-Note: a\x00X-Api-Key: sk-hidden\r\nContent-Length: 2\r\n\r\n{}",
    "a folded header line": HEAD + b"X-Note: a\r\n X-Api-Key: sk-hidden\r\nContent-Length: 2\r\n\r\n{}",
    "a space before the colon": HEAD + b"X-Api-Key : sk-hidden\r\nContent-Length: 2\r\n\r\n{}",
    "a CR in the request target": b"POST /v1/messages\rX-Api-Key: sk-hidden HTTP/1.1\r\nHost: x\r\n"
    b"Content-Length: 2\r\n\r\n{}",
    "a NUL in the request target": b"POST /v1/\x00messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    "bare LF line ends": b"POST /v1/messages HTTP/1.1\nHost: x\nContent-Length: 2\n\n{}",
    "chunk size 0x5": HEAD + b"Transfer-Encoding: chunked\r\n\r\n0x2\r\n{}\r\n0\r\n\r\n",
    "chunk size +5": HEAD + b"Transfer-Encoding: chunked\r\n\r\n+2\r\n{}\r\n0\r\n\r\n",
    "chunk size 1_0": HEAD + b"Transfer-Encoding: chunked\r\n\r\n1_0\r\n0123456789abcdef\r\n0\r\n\r\n",
    "chunk data not followed by CRLF": HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX\r\n0\r\n\r\n",
    "Content-Length: ²": HEAD + "Content-Length: ²\r\n\r\n{}".encode(),
    "Content-Length: +2": HEAD + b"Content-Length: +2\r\n\r\n{}",
    "Content-Length: -1": HEAD + b"Content-Length: -1\r\n\r\n",
    "Content-Length: twelve": HEAD + b"Content-Length: twelve\r\n\r\n",
    "CONNECT to another host": b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n",
    "HTTP/2.0 in HTTP/1 form": b"POST /v1/messages HTTP/2.0\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    "garbage": b"GARBAGE\r\n\r\n",
}


@pytest.mark.parametrize("wire", REFUSED.values(), ids=list(REFUSED))
def test_a_message_rfc_9112_forbids_is_refused_and_nginx_reads_nothing(proxy, nginx, wire):
    before = len(nginx.seen(0))
    got = exchange(proxy.port, wire)
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), got[:200]
    assert b"Connection: close" in head
    assert json.loads(body)["type"] == "error"
    assert nginx.seen()[before:] == []


@pytest.mark.parametrize("how", ["end in the same read", "no end yet", "end in a later read"])
def test_a_head_over_the_limit_is_refused_however_it_arrives(proxy, nginx, how):
    before = len(nginx.seen(0))
    big = HEAD + b"X-Big: " + b"x" * (MAX_HEADER_BYTES + 10)
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        if how == "end in the same read":
            sock.sendall(big + b"\r\nContent-Length: 2\r\n\r\n{}")
        elif how == "no end yet":
            sock.sendall(big)
        else:
            sock.sendall(big[:MAX_HEADER_BYTES // 2])
            time.sleep(0.05)
            sock.sendall(big[MAX_HEADER_BYTES // 2:] + b"\r\nContent-Length: 2\r\n\r\n{}")
        got = b""
        while piece := sock.recv(65536):
            got += piece
    assert got.startswith(b"HTTP/1.1 431 ") and b"Connection: close" in got
    assert nginx.seen()[before:] == []


def test_a_good_request_reaches_nginx_with_nothing_hidden_and_absolute_form_stays_home(proxy, nginx):
    before = len(nginx.seen(0))
    wire = (b"GET http://evil.example/v1/models?x=1 HTTP/1.1\r\nHost: evil.example\r\nX-Note: plain\r\n"
            b"Connection: close\r\n\r\n")
    got = exchange(proxy.port, wire)
    assert got.startswith(b"HTTP/1.1 200 ")
    assert json.loads(got.partition(b"\r\n\r\n")[2]) == {"type": "message", "key": "", "xff": ""}
    assert nginx.seen()[before:] == ["GET /v1/models?x=1 key=[-] xff=[-] length=[-] te=[-]"]


def test_a_request_body_with_a_request_inside_goes_up_as_one_body(proxy, nginx):
    """A chunked body re-framed with its own length: what was inside stays inside."""
    before = len(nginx.seen(0))
    chunked = HEAD + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (
        len(SMUGGLED), SMUGGLED)
    got = exchange(proxy.port, chunked)
    assert got.startswith(b"HTTP/1.1 200 ")
    assert nginx.seen()[before:] == [f"POST /v1/messages key=[-] xff=[-] length=[{len(SMUGGLED)}] te=[-]"]


def test_pipelined_requests_then_a_close_never_raise_in_the_proxy(nginx):
    """A pipelined request followed by the client's close raised InvalidStateError in about 1 run in 10."""
    errors = []
    one = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    with ProxyThread(Upstream(nginx.url)) as proxy:
        loop = proxy._loop
        loop.call_soon_threadsafe(loop.set_exception_handler, lambda _loop, context: errors.append(context))
        for round_ in range(200):
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
                sock.sendall(one * 3)
                if round_ % 2:
                    sock.recv(10)
            time.sleep(0.002 * (round_ % 5))
        time.sleep(0.5)
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(5)
        health = proxy.server.health()
    assert errors == []
    assert health["connections"] == 0


def test_nothing_of_one_refusal_reaches_the_requests_before_it(proxy, nginx):
    """A good request, then a malformed one on the same connection: the first is answered, then the 400."""
    before = len(nginx.seen(0))
    good = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    bad = HEAD + b"X-Note: a\nX-Api-Key: sk-hidden\r\nContent-Length: 2\r\n\r\n{}"
    got = exchange(proxy.port, good + bad)
    assert got.startswith(b"HTTP/1.1 200 ") and got.count(b"HTTP/1.1 400 Bad Request\r\n") == 1
    assert b"HTTP/1.1 400 " in got and got.index(b"HTTP/1.1 400 ") > got.index(b"HTTP/1.1 200 ")
    assert nginx.seen()[before:] == ["POST /v1/messages key=[-] xff=[-] length=[2] te=[-]"]


class RawUpstream:
    """Plain HTTP on 127.0.0.1: each new connection answers each request with the next of its replies."""

    def __init__(self, *per_connection) -> None:
        self.replies = [list(replies) for replies in per_connection]
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            replies = self.replies[self.connections] if self.connections < len(self.replies) else []
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn, replies), daemon=True).start()

    @staticmethod
    def _serve(conn, replies) -> None:
        with conn:
            for reply in replies:
                received = b""
                while b"\r\n\r\n{}" not in received:
                    piece = conn.recv(65536)
                    if not piece:
                        return
                    received += piece
                conn.sendall(reply)
            time.sleep(3)

    def close(self) -> None:
        self.listener.close()


GOOD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 6\r\n\r\n\"good\""
MALFORMED = {
    "Content-Length with Transfer-Encoding": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
    b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "two Content-Length values": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\nok",
    "Transfer-Encoding: gzip alone": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc",
    "Transfer-Encoding: chunked, gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
    b"3\r\nabc\r\n0\r\n\r\n",
    "a bare LF inside a header value": b"HTTP/1.1 200 OK\r\nX-Note: a\nSet-Cookie: evil=1\r\nContent-Length: 2\r\n\r\nok",
    "a NUL inside a header value": b"HTTP/1.1 200 OK\r\nX-Note: a\x00b\r\nContent-Length: 2\r\n\r\nok",
    "status 099": b"HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nok",
    "101 Switching Protocols": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: evil\r\nConnection: upgrade\r\n\r\n",
    "a head over the limit": b"HTTP/1.1 200 OK\r\nX-Big: " + b"x" * (MAX_HEADER_BYTES + 10) + b"\r\n\r\n",
    "not HTTP": b"SSH-2.0-OpenSSH\r\n\r\n",
}


def keep_alive_pair(port: int) -> tuple:
    """Two requests on one client connection, the second sent after the first answer: both answers."""
    request = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    answers = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for _ in range(2):
            sock.sendall(request)
            received = b""
            while True:
                head, sep, rest = received.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), None) if sep else None
                if length is not None and len(rest) >= length:
                    break
                piece = sock.recv(65536)
                if not piece:
                    break
                received += piece
            answers.append(received)
    return tuple(answers)


@pytest.mark.parametrize("reply", MALFORMED.values(), ids=list(MALFORMED))
def test_a_malformed_upstream_reply_is_a_502_and_its_connection_is_not_used_again(reply):
    upstream = RawUpstream([reply], [GOOD])
    try:
        with ProxyThread(Upstream(f"http://127.0.0.1:{upstream.port}")) as proxy:
            first, second = keep_alive_pair(proxy.port)
    finally:
        upstream.close()
    assert first.startswith(b"HTTP/1.1 502 ") and b"malformed" in first
    assert b"evil" not in first
    assert second.startswith(b"HTTP/1.1 200 ") and second.endswith(b'"good"')
    assert upstream.connections == 2


def test_bytes_after_the_end_of_a_reply_never_reach_the_next_request():
    extra = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n\"evil\""
    first_reply = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\"ok\"" + extra
    upstream = RawUpstream([first_reply, extra], [GOOD])
    try:
        with ProxyThread(Upstream(f"http://127.0.0.1:{upstream.port}")) as proxy:
            first, second = keep_alive_pair(proxy.port)
    finally:
        upstream.close()
    assert first.endswith(b'"ok"') and b"evil" not in first
    assert second.endswith(b'"good"')
    assert upstream.connections == 2
