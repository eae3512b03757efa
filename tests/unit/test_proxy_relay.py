"""The proxy's HTTP/1.1 framing: chunked bodies split anywhere, lengths, bodiless replies, hop-by-hop headers."""

from __future__ import annotations

import pytest

from ccprompt.sources.proxy.heads import HTTPError, forwardable, parse_head
from ccprompt.sources.proxy.relay import Body, Chunked, response_body

PIECES = (b"event: ", b'data: {"type":"ping"}\n\n')
# The second chunk carries an extension, and a trailer follows the last one.
WIRE = (b"%x\r\n%s\r\n%x;ext=1\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n"
        % (len(PIECES[0]), PIECES[0], len(PIECES[1]), PIECES[1]))
PAYLOAD = b"".join(PIECES)


@pytest.mark.parametrize("step", [1, 2, 3, 5, 8, 13, len(WIRE)])
def test_a_chunked_body_decodes_however_it_is_split(step):
    body = Body("chunked")
    payload = b""
    for start in range(0, len(WIRE), step):
        assert not body.done
        piece, rest = body.feed(WIRE[start:start + step])
        payload += piece
        assert rest == b""
    assert body.done and payload == PAYLOAD


def test_bytes_after_the_last_chunk_are_handed_back_as_the_next_message():
    body = Body("chunked")
    payload, rest = body.feed(WIRE + b"POST / HTTP/1.1\r\n")
    assert payload == PAYLOAD and body.done and rest == b"POST / HTTP/1.1\r\n"


@pytest.mark.parametrize("wire", [b"zz\r\n", b"-1\r\n", b"3\r\nabcX\r\n"])
def test_a_broken_chunked_body_is_refused(wire):
    with pytest.raises(HTTPError):
        Chunked().feed(wire)


def test_a_length_body_ends_at_its_length():
    body = Body("length", 5)
    assert body.feed(b"abc") == (b"abc", b"") and not body.done
    assert body.feed(b"deXYZ") == (b"de", b"XYZ") and body.done


@pytest.mark.parametrize("method, status, headers, kind", [
    ("HEAD", 200, [("Content-Length", "10")], "none"),
    ("POST", 204, [], "none"),
    ("GET", 304, [("Content-Length", "10")], "none"),
    ("POST", 200, [("Transfer-Encoding", "gzip, chunked"), ("Content-Length", "3")], "chunked"),
    ("POST", 200, [("content-length", "3")], "length"),
    ("POST", 200, [], "close"),
])
def test_how_a_response_body_is_framed(method, status, headers, kind):
    assert response_body(method, status, headers).kind == kind


def test_a_bad_content_length_or_head_is_refused():
    with pytest.raises(HTTPError):
        response_body("POST", 200, [("Content-Length", "-1")])
    with pytest.raises(HTTPError):
        parse_head(b"HTTP/1.1 200 OK\r\n Folded: header")
    assert parse_head(b"HTTP/1.1 529 Overloaded\r\nA: b ") == (["HTTP/1.1", "529", "Overloaded"], [("A", "b")])


def test_hop_by_hop_headers_and_those_connection_names_are_dropped():
    pairs = [("Connection", "keep-alive, X-Drop"), ("X-Drop", "1"), ("Keep-Alive", "timeout=5"), ("Host", "h"),
             ("TE", "trailers"), ("Transfer-Encoding", "chunked"), ("X-Keep", "a"), ("x-keep", "b")]
    assert forwardable(pairs) == (("X-Keep", "a"), ("x-keep", "b"))
