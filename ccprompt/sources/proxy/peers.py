"""Who is on the other end of a loopback connection: the uid that owns the client's socket.

On Linux the kernel says, for one exact connection, through a sock_diag netlink query
(what `ss` uses): the client's socket is the one whose local address is our peer's and
whose remote address is ours, and its `idiag_uid` is its owner. One query per accepted
connection, answered from the kernel's socket hash in microseconds, whatever the number
of sockets on the machine. When netlink is unavailable, `/proc/net/tcp` and `tcp6` are
read instead (their size grows with the machine's sockets).

Elsewhere (macOS, the BSDs) no unprivileged interface names the owner of another
process's TCP socket, and `owner` returns None: the caller cannot tell.
"""

from __future__ import annotations

import os
import socket
import struct
import sys

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
_NOCOOKIE = 0xFFFFFFFF
_HEADER = struct.Struct("=IHHII")
_REQUEST = struct.Struct("=BBBBI")
_UID_OFFSET = 16 + 4 + 48 + 12  # nlmsghdr, then inet_diag_msg: 4 bytes, the sockid, expires/rqueue/wqueue
LOOPBACK = ("127.", "::1", "::ffff:127.")


def is_loopback(address: str) -> bool:
    return address.startswith(LOOPBACK)


class PeerOwners:
    """Owner uids of connecting sockets. One netlink socket, kept open, reused for every query."""

    def __init__(self) -> None:
        self._sock = None
        self._seq = 0
        self.linux = sys.platform.startswith("linux")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def owner(self, peer: tuple, local: tuple) -> int | None:
        """The uid owning the socket at `peer` connected to our `local` address, or None if unknown.

        `peer` and `local` are the (host, port, ...) tuples asyncio reports for an accepted connection.
        """
        if not self.linux:
            return None
        try:
            return self._netlink(peer, local)
        except OSError:
            self.close()
        return _proc_net(peer, local)

    def _netlink(self, peer: tuple, local: tuple) -> int | None:
        family = socket.AF_INET6 if ":" in peer[0] else socket.AF_INET
        if self._sock is None:
            self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC, NETLINK_SOCK_DIAG)
            self._sock.settimeout(0.05)
        src = socket.inet_pton(family, peer[0].split("%")[0]).ljust(16, b"\0")[:16]
        dst = socket.inet_pton(family, local[0].split("%")[0]).ljust(16, b"\0")[:16]
        sockid = struct.pack("!HH", peer[1], local[1]) + src + dst + struct.pack("=III", 0, _NOCOOKIE, _NOCOOKIE)
        body = _REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + sockid
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        self._sock.send(_HEADER.pack(_HEADER.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, self._seq, 0)
                        + body)
        while True:
            reply = self._sock.recv(8192)
            if len(reply) < _HEADER.size:
                return None
            _length, kind, _flags, seq, _pid = _HEADER.unpack_from(reply)
            if seq != self._seq:
                continue  # an answer to an earlier query that timed out
            if kind == NLMSG_ERROR or len(reply) < _UID_OFFSET + 4:
                return None  # no such socket: the client is gone already
            return struct.unpack_from("=I", reply, _UID_OFFSET)[0]


def _hex_address(host: str, port: int) -> str:
    """An address as /proc/net/tcp{,6} writes it: the raw 32-bit words in host order, then the port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    raw = socket.inet_pton(family, host.split("%")[0])
    words = struct.unpack(f"={len(raw) // 4}I", raw)
    return "".join(f"{word:08X}" for word in words) + f":{port:04X}"


def _proc_net(peer: tuple, local: tuple) -> int | None:
    """The uid column of the line for this connection, found by its two addresses without splitting every line."""
    name = "tcp6" if ":" in peer[0] else "tcp"
    want = f" {_hex_address(peer[0], peer[1])} {_hex_address(local[0], local[1])} ".encode()
    try:
        with open(os.path.join("/proc/net", name), "rb") as handle:
            table = handle.read()
    except OSError:
        return None
    at = table.find(want)
    if at < 0:
        return None
    line = table[table.rfind(b"\n", 0, at) + 1:table.find(b"\n", at)]
    fields = line.split()
    try:
        return int(fields[7])
    except (IndexError, ValueError):
        return None
