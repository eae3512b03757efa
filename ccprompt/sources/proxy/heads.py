"""Message heads: a quick way for the usual well-formed head, the careful way for every other.

The quick way reads a head with two regular expressions and passes its header lines on as
the bytes they are. It takes a head only in canonical form (`Name: value`: a token for the
name, one space, printable ASCII with no space at either end) whose hop-by-hop headers are
the usual ones; anything else goes the careful way (`parse_head`, `forwardable`). For a head
both can read, both send the same bytes on. Neither keeps more than the forwarding needs:
the analysis thread gets the header lines (`Fields`) and splits them there, off the
forwarding path.
"""

from __future__ import annotations

import re

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                        "proxy-authorization", "te", "trailer", "trailers", "transfer-encoding", "upgrade"})
BODY_METHODS = ("POST", "PUT", "PATCH")  # these always say their Content-Length, 0 included


class HTTPError(Exception):
    """A message that cannot be read as HTTP/1.1."""


def forwardable(pairs) -> tuple:
    """Headers minus hop-by-hop ones, minus whatever the Connection header names, minus Host."""
    named = set()
    for name, value in pairs:
        if name.lower() == "connection":
            named.update(token.strip().lower() for token in value.split(","))
    return tuple((name, value) for name, value in pairs
                 if name.lower() not in HOP_BY_HOP and name.lower() not in named and name.lower() != "host")


def parse_head(head: bytes):
    """(first line's three words, [(name, value)]) of a request or status head."""
    lines = head.decode("latin-1").split("\r\n")
    first = lines[0].split(" ", 2)
    if len(first) < 2:
        raise HTTPError("bad first line")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HTTPError("bad header line")
        headers.append((name, value.strip()))
    return first + [""] * (3 - len(first)), headers


def header(headers, name: str):
    return next((value for key, value in headers if key.lower() == name), None)


def tokens(headers, name: str) -> set:
    return {t.strip().lower() for key, value in headers if key.lower() == name for t in value.split(",")}


def field_lines(pairs) -> bytes:
    """Headers as the lines a head carries after its first: `\\r\\nName: value` each."""
    return "".join(f"\r\n{name}: {value}" for name, value in pairs).encode("latin-1")


class Fields:
    """Header lines in canonical form, split into (name, value) pairs only when read (on the analysis thread)."""

    __slots__ = ("lines",)

    def __init__(self, lines: bytes) -> None:
        self.lines = lines

    def __iter__(self):
        return iter(forwardable([tuple(line.split(": ", 1)) for line in self.lines.decode("latin-1").split("\r\n")[1:]]))


# -- the quick way ----------------------------------------------------------------------------

_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]"
_FIELD = rb"\r\n" + _TOKEN + rb"+: [\x21-\x7e](?:[\t\x20-\x7e]*[\x21-\x7e])?"
_REQUEST = re.compile(rb"([A-Z]+) (/[\x21-\x7e]*) HTTP/1\.1((?:" + _FIELD + rb")*)")
_RESPONSE = re.compile(rb"HTTP/1\.1 ([2-5][0-9][0-9]) ([\x20-\x7e]*)((?:" + _FIELD + rb")*)")
# The names the forwarding itself reads or drops. The quick way goes on only when these are
# Host, Content-Length, Keep-Alive, `Connection: keep-alive` and (responses) `Transfer-Encoding: chunked`.
_HOP = rb"connection|keep-alive|proxy-" + _TOKEN + rb"*|te|trailers?|transfer-encoding|upgrade|host"
_SPECIAL = re.compile(rb"\r\n(" + _HOP + rb"|expect|content-length): ([^\r\n]*)", re.I)
_DROP = re.compile(rb"\r\n(?:" + _HOP + rb"|expect|content-length): [^\r\n]*", re.I)
_DROP_KEEP_LENGTH = re.compile(rb"\r\n(?:" + _HOP + rb"): [^\r\n]*", re.I)


def _special(lines: bytes):
    """(content length or None, chunked) when the special headers allow the quick way, else None."""
    length, chunked = None, False
    for name, value in _SPECIAL.findall(lines):
        name, value = name.lower(), value.lower()
        if name == b"content-length" and length is None and value.isdigit():
            length = int(value)
        elif name == b"transfer-encoding" and value == b"chunked" and not chunked:
            chunked = True
        elif not (name in (b"host", b"keep-alive") or (name == b"connection" and value == b"keep-alive")):
            return None
    return length, chunked


def quick_request(head: bytes):
    """(method, path, header lines to send on, content length) of a canonical HTTP/1.1 request
    with a Content-Length and no Transfer-Encoding; None when it needs the careful way."""
    match = _REQUEST.fullmatch(head)
    if match is None:
        return None
    method, path, lines = match.groups()
    special = _special(lines)
    if special is None or special[0] is None or special[1]:
        return None
    method = method.decode()
    if special[0] == 0 and method not in BODY_METHODS:  # the careful way leaves its length out
        return None
    return method, path.decode(), _DROP.sub(b"", lines), special[0], lines


def quick_response(head: bytes):
    """(status, reason, content length or None, chunked, header lines as received) of a canonical
    HTTP/1.1 response (2xx to 5xx) that keeps the connection; None when it needs the careful way."""
    match = _RESPONSE.fullmatch(head)
    if match is None:
        return None
    status, reason, lines = match.groups()
    special = _special(lines)
    if special is None:
        return None
    return int(status), reason, special[0], special[1], lines


def response_lines(lines: bytes, chunked: bool) -> bytes:
    """The header lines of a quick response as the client gets them: hop-by-hop dropped, and a
    Content-Length too when the body goes on chunked."""
    return (_DROP if chunked else _DROP_KEEP_LENGTH).sub(b"", lines)
