"""Message heads read the quick way send on the same bytes as the careful way, and only canonical heads go quick."""

from __future__ import annotations

import pytest

from ccprompt.sources.proxy.heads import (Fields, field_lines, forwardable, parse_head, quick_request,
                                          quick_response, response_lines)
from ccprompt.sources.proxy.relay import Body, Chunked, framing, response_body

CLAUDE_CODE = (b"POST /v1/messages?beta=true HTTP/1.1\r\n"
               b"host: 127.0.0.1:8788\r\nconnection: keep-alive\r\nAccept: application/json\r\n"
               b"X-Stainless-Retry-Count: 0\r\nX-Stainless-Timeout: 600\r\nanthropic-beta: claude-code-20250219\r\n"
               b"anthropic-version: 2023-06-01\r\nx-api-key: sk-ant-test\r\nx-app: cli\r\n"
               b"User-Agent: claude-cli/2.1.197 (external, cli)\r\nX-Claude-Code-Session-Id: 1111-2222\r\n"
               b"content-type: application/json\r\naccept-encoding: gzip, deflate, br, zstd\r\n"
               b"Keep-Alive: timeout=5\r\ncontent-length: 12345")
REQUESTS = [
    CLAUDE_CODE,
    b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 0",
    b"PUT /a HTTP/1.1\r\nContent-Length: 3\r\nX-Empty-Tab: a\tb\r\nX: 1",
    b"GET /v1/models HTTP/1.1\r\nContent-Length: 2\r\nProxy-Connection: x",  # not quick: Proxy-*
]


def careful_request(head: bytes):
    """What the careful way sends on: header lines minus Host, Content-Length, Expect, hop-by-hop."""
    (method, path, _), headers = parse_head(head)
    kept = [(n, v) for n, v in forwardable(headers) if n.lower() != "expect"]
    return method, path, field_lines((n, v) for n, v in kept if n.lower() != "content-length"), kept


@pytest.mark.parametrize("head", REQUESTS[:3])
def test_a_canonical_request_reads_the_same_both_ways(head):
    method, path, lines, length, raw = quick_request(head)
    careful_method, careful_path, careful_lines, kept = careful_request(head)
    assert (method, path, lines) == (careful_method, careful_path, careful_lines)
    assert length == int(dict((n.lower(), v) for n, v in parse_head(head)[1])["content-length"])
    assert list(Fields(raw)) == kept  # what the analysis thread reads
    assert b"x-api-key: sk-ant-test" in lines or head is not CLAUDE_CODE


@pytest.mark.parametrize("head", [
    REQUESTS[3],
    b"POST /v1/messages HTTP/1.1\r\nHost: x",  # no Content-Length
    b"GET / HTTP/1.1\r\nContent-Length: 0",  # the careful way sends no length for it
    b"POST /v1/messages HTTP/1.0\r\nContent-Length: 1",
    b"POST /v1/messages HTTP/1.1\r\nTransfer-Encoding: chunked",
    b"POST /v1/messages HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1",
    b"POST /v1/messages HTTP/1.1\r\nContent-Length: 1\r\nConnection: close",
    b"POST /v1/messages HTTP/1.1\r\nContent-Length: 1\r\nConnection: keep-alive, X-Named",
    b"POST /v1/messages HTTP/1.1\r\nContent-Length: 1\r\nExpect: 100-continue",
    b"POST /v1/messages HTTP/1.1\r\nContent-Length: 1\r\nUpgrade: h2c",
    b"POST /v1/messages HTTP/1.1\r\nContent-Length: 1\r\nX-A:b",  # no space after the colon
    b"POST /v1/messages HTTP/1.1\r\nContent-Length: 1\r\nX-A: b ",  # trailing space
    b"POST /v1/messages HTTP/1.1\r\nContent-Length: 1\r\nX-A:  b",  # two spaces
    b"POST /v1/messages HTTP/1.1\r\nContent-Length: 1\r\nX-A: \xc3\xa9",  # not ASCII
    b"POST /v1/messages HTTP/1.1\r\nContent-Length: 1\r\nX A: b",
    b"POST /v1/messages HTTP/1.1\r\nContent-Length: 1\r\n folded: b",
    b"POST http://x/v1 HTTP/1.1\r\nContent-Length: 1",  # absolute form
])
def test_any_other_request_head_goes_the_careful_way(head):
    assert quick_request(head) is None


RESPONSES = [
    b"HTTP/1.1 200 OK\r\nServer: sseapi\r\nDate: Sun, 22 Nov 2026 10:00:00 GMT\r\n"
    b"content-type: text/event-stream\r\nrequest-id: req_1\r\ntransfer-encoding: chunked\r\nConnection: keep-alive",
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 10\r\nKeep-Alive: timeout=5",
    b"HTTP/1.1 529 Overloaded\r\ncontent-length: 3\r\nTransfer-Encoding: chunked\r\nretry-after: 2",
    b"HTTP/1.1 204 No Content\r\nx: y",
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream",  # ends with the connection
]


@pytest.mark.parametrize("head", RESPONSES)
@pytest.mark.parametrize("method", ["POST", "HEAD"])
def test_a_canonical_response_reads_the_same_both_ways(head, method):
    status, reason, length, chunked, raw = quick_response(head)
    (_, careful_status, careful_reason), headers = parse_head(head)
    careful = response_body(method, int(careful_status), headers)
    quick = framing(method, status, length, chunked)
    assert (status, reason.decode()) == (int(careful_status), careful_reason)
    assert (quick.kind, quick.left) == (careful.kind, careful.left)
    forwarded = forwardable(headers)
    shown = [(n, v) for n, v in forwarded if not (careful.kind == "chunked" and n.lower() == "content-length")]
    assert response_lines(raw, quick.kind == "chunked") == field_lines(shown)
    assert list(Fields(raw)) == list(forwarded)


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 100 Continue",
    b"HTTP/1.0 200 OK\r\nContent-Length: 1",
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1",
    b"HTTP/1.1 200\r\nContent-Length: 1",
    b"HTTP/1.1 200 OK\r\nTrailer: X",
    b"HTTP/1.1 200 OK\r\nX-A:b",
])
def test_any_other_response_head_goes_the_careful_way(head):
    assert quick_response(head) is None


PIECES = (b"event: ", b'data: {"type":"ping"}\n\n', b"\r\n\r\n!")  # the last one holds a CRLF CRLF
WIRE = (b"%x\r\n%s\r\n%x;ext=1\r\n%s\r\n%x\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n"
        % (len(PIECES[0]), PIECES[0], len(PIECES[1]), PIECES[1], len(PIECES[2]), PIECES[2]))


@pytest.mark.parametrize("step", [1, 2, 3, 4, 5, 7, 11, len(WIRE)])
def test_a_chunked_body_said_to_go_on_never_ends_inside_those_bytes(step):
    """`open_at_end` lets the relay pass bytes on before decoding them; it must never be wrong."""
    body, said_open = Body("chunked"), 0
    for start in range(0, len(WIRE), step):
        piece = WIRE[start:start + step]
        still_open = body.chunked.open_at_end(piece)
        payload, rest = body.feed(piece)
        if still_open:
            said_open += 1
            assert not body.done
    assert body.done and rest == b""
    assert said_open > 0 or step == len(WIRE)


def test_the_end_of_a_chunked_body_is_never_called_open():
    decoder = Chunked()
    assert not decoder.open_at_end(b"0\r\n\r\n")
    decoder.feed(b"3\r\nabc\r\n0\r\n")
    assert decoder.state == "trailer" and not decoder.open_at_end(b"\r\n")
