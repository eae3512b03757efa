"""The first protocol of every accepted connection: the owner's own are let in, other users' refused.

Decided once per connection, in `connection_made`, from the owner of the connecting socket
(`peers`); an admitted connection's transport is then handed to a ClientProtocol, so requests
pay nothing for the check. A refused one is answered 403 and closed before a byte of it is
read: it never reaches the upstream, the records or the connection cap.

Where the owner cannot be told, a connection is let in, and:
- from another host (a proxy listening beyond loopback): its requests are forwarded but never
  recorded, neither in requests.jsonl nor in the status line's state;
- on loopback where no unprivileged interface names a socket's owner (macOS, the BSDs): it is
  taken as the owner's, since it cannot be told from the owner's own.
"""

from __future__ import annotations

import asyncio

from .client import ClientProtocol
from .message import refusal
from .peers import is_loopback

OWNER, REFUSE, UNRECORDED = "owner", "refuse", "unrecorded"


def verdict(server, transport) -> str:
    """owner, refuse or unrecorded, for a connection just accepted by `server`."""
    peer = transport.get_extra_info("peername")
    local = transport.get_extra_info("sockname")
    if not peer or not local or not isinstance(peer[0], str):
        return OWNER  # not an IP socket (a Unix socket given by the owner): nothing to tell
    loopback = is_loopback(peer[0])
    uid = server.peers.owner(peer, local)
    if uid is not None:
        return OWNER if uid in server.uids else REFUSE
    if loopback:
        # On Linux a local socket the kernel cannot find is gone already, or is not ours.
        return REFUSE if server.peers.linux else OWNER
    return UNRECORDED  # another host's


class Gate(asyncio.Protocol):
    __slots__ = ("server",)

    def __init__(self, server) -> None:
        self.server = server

    def connection_made(self, transport) -> None:
        decided = verdict(self.server, transport)
        if decided == REFUSE:
            self.server.refused_users += 1
            transport.write(refusal(403, "not your proxy"))
            transport.close()
            return
        client = ClientProtocol(self.server if decided == OWNER else Unrecorded(self.server))
        transport.set_protocol(client)
        client.connection_made(transport)

    def data_received(self, data: bytes) -> None:  # a refused connection's bytes are dropped unread
        pass

    def connection_lost(self, exc) -> None:
        pass


class _NoAnalysis:
    """An analyzer that keeps nothing: what another host's requests get."""

    def begin(self, *args) -> None:
        pass

    response = chunk = end = begin


class Unrecorded:
    """The server as another host's connection sees it: everything the same, except that nothing is recorded."""

    analyzer = _NoAnalysis()

    def __init__(self, server) -> None:
        self._server = server

    def __getattr__(self, name):
        return getattr(self._server, name)
