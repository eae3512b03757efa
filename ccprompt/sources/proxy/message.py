"""What the proxy makes of a message httptools has read: the header fields it passes on, its limits,
and the short JSON replies it gives itself.

httptools (llhttp) reads both sides; what it accepts, and what this module refuses on top of it, is
listed in docs/proxy.md. Header names and values stay the bytes they arrived as.
"""

from __future__ import annotations

import json

MAX_HEADER_BYTES = 64 * 1024  # a head (request line or status line and fields) past this is refused
MAX_REQUEST_BODY = 64 * 1024 * 1024

# Hop-by-hop: they describe one connection, and the proxy makes two.
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"proxy-authenticate",
                        b"proxy-authorization", b"te", b"trailer", b"trailers", b"transfer-encoding",
                        b"upgrade"})
# Not sent on upstream: the proxy writes its own Host and Content-Length, and answers Expect.
NOT_SENT_UP = HOP_BY_HOP | {b"host", b"content-length", b"expect"}
DOWN_WATCHED = frozenset({b"content-length"})  # read by the forwarding, and passed on
# Only a name of one of these lengths can be one of those: the others are passed on without lower().
UP_LENGTHS = frozenset(len(name) for name in NOT_SENT_UP)
DOWN_LENGTHS = frozenset(len(name) for name in HOP_BY_HOP | DOWN_WATCHED)
USUAL_CONNECTION = frozenset({b"keep-alive", b"close", b"upgrade"})

REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout", 413: "Content Too Large",
           431: "Request Header Fields Too Large", 502: "Bad Gateway", 503: "Service Unavailable"}


class Refused(Exception):
    """A message the proxy will not pass on: `status` is the answer the client gets."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


def fields(pairs, dropped=NOT_SENT_UP) -> bytes:
    """`\\r\\nName: value` for each pair not dropped, nor named by a Connection header."""
    named = None
    for name, value in pairs:
        if name.lower() == b"connection":
            named = (named or set()) | {token.strip().lower() for token in value.split(b",")}
    out = []
    for name, value in pairs:
        lower = name.lower()
        if lower not in dropped and (named is None or lower not in named):
            out.append(b"\r\n%s: %s" % (name, value))
    return b"".join(out)


class Head:
    """The header fields of one message as httptools handed them over, sorted in one pass once the
    head is whole: `pairs` (all, for the analysis), `lines` (those passed on, as bytes parts),
    `special` (the lower-cased ones the forwarding itself reads or drops) and `size`. Only a name
    of a length some such name has is lower-cased."""

    __slots__ = ("pairs", "lines", "special", "size", "dropped")

    def __init__(self, pairs: list, dropped=NOT_SENT_UP, lengths=UP_LENGTHS, watched=frozenset()) -> None:
        self.pairs = pairs
        self.dropped = dropped
        lines: list = []
        special: list = []
        size = 0
        for name, value in pairs:
            length = len(name)
            size += length + len(value) + 4
            if length in lengths:
                lower = name.lower()
                if lower in dropped:
                    special.append((lower, value))
                    continue
                if lower in watched:
                    special.append((lower, value))
            lines += (b"\r\n", name, b": ", value)
        self.lines, self.special, self.size = lines, special, size

    def get(self, name: bytes):
        for lower, value in self.special:
            if lower == name:
                return value
        return None

    def passed_on(self) -> bytes:
        """The header lines to send on: `\r\nName: value` each, minus whatever Connection names."""
        connection = self.get(b"connection")
        if connection is not None and connection.lower() not in USUAL_CONNECTION:
            named = {token.strip().lower() for token in connection.split(b",")} - USUAL_CONNECTION
            if named:
                return fields(self.pairs, self.dropped)
        return b"".join(self.lines)

    def chunked(self) -> bool:
        return transfer_coding(self.special)


def request_head(pairs: list) -> Head:
    return Head(pairs)


def response_head(pairs: list) -> Head:
    return Head(pairs, HOP_BY_HOP, DOWN_LENGTHS, DOWN_WATCHED)


def transfer_coding(pairs) -> bool:
    """True for a chunked body; Refused for any other transfer coding (the proxy decodes only chunked)."""
    codings = [value for name, value in pairs if name.lower() == b"transfer-encoding"]
    if not codings:
        return False
    if len(codings) == 1 and codings[0].strip().lower() == b"chunked":
        return True
    raise Refused(400, "a Transfer-Encoding other than chunked")


def value_of(pairs, name: bytes):
    return next((value for key, value in pairs if key.lower() == name), None)


def error_body(message: str, kind: str = "api_error") -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


def simple_response(status: int, body: bytes, close: bool, head_only: bool = False) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}", "Content-Type: application/json",
             f"Content-Length: {len(body)}"]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head_only else body)


def refusal(status: int, message: str) -> bytes:
    """The whole answer to a request the proxy refuses; the connection closes after it."""
    kind = {413: "request_too_large", 503: "overloaded_error"}.get(status, "invalid_request_error")
    if status == 502:
        kind = "api_error"
    return simple_response(status, error_body(message, kind), True)
