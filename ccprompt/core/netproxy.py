"""The outbound proxy, read once for `doctor` and the local proxy: NO_PROXY, and the CONNECT tunnel's words.

Pure functions: the callers own their sockets (blocking in doctor, asyncio in the proxy).
"""

from __future__ import annotations

import base64
from urllib.parse import unquote


def bypasses(host: str, port, no_proxy) -> bool:
    """Whether NO_PROXY exempts host[:port]: `*`, exact hosts, domain suffixes (`example.com`,
    `.example.com`, `*.example.com`), `[v6]`, and `host:port` entries, whose port is compared when
    the caller knows its own (Claude Code's reading; libcurl ignores such ports)."""
    if not no_proxy:
        return False
    host = host.lower().strip("[]")
    for entry in no_proxy.replace(" ", ",").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        name, entry_port = entry, ""
        if entry.startswith("["):  # [v6] or [v6]:port
            name, _, rest = entry[1:].partition("]")
            entry_port = rest[1:] if rest.startswith(":") else ""
        elif entry.count(":") == 1:
            name, _, entry_port = entry.partition(":")
        if entry_port and port is not None and (not entry_port.isdigit() or int(entry_port) != int(port)):
            continue
        name = name.lstrip("*").lstrip(".")
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def basic_auth(username, password) -> str | None:
    """`Basic …` for a proxy URL's user:password (percent-decoded), or None without a user."""
    if username is None:
        return None
    pair = f"{unquote(username)}:{unquote(password or '')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def connect_request(host: str, port: int, username=None, password=None) -> bytes:
    """The CONNECT request that opens a tunnel to host:port."""
    target = authority(host, port)
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    auth = basic_auth(username, password)
    if auth:
        lines.append(f"Proxy-Authorization: {auth}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def tunnel_status(head: bytes) -> tuple[int, str]:
    """(status, status line) of the proxy's answer to CONNECT; status 0 when it is not HTTP."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    words = line.split(" ", 2)
    if len(words) < 2 or not words[0].startswith("HTTP/1.") or len(words[1]) != 3 or not words[1].isdigit():
        return 0, line
    return int(words[1]), line
