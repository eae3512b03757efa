"""The reverse proxy: asyncio protocols in and out, bytes passed through as they arrive.

The only deliberate changes to traffic: hop-by-hop headers (Connection and the headers it
names, Keep-Alive, Proxy-*, TE, Trailer, Upgrade) are dropped, Host names the upstream,
and the base URL's path prefix is put in front of the request path. The request body is
sent with a Content-Length; the response keeps the upstream's framing (chunked, a length,
or until close) and its bytes, never decompressed. `GET /__ccprompt/health` is answered
here and never forwarded. httptools reads both sides (`client`, `exchange`); the server
holds what all connections share: the limits, the budget of buffered request bytes, the pool.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import time

from ccprompt import __version__
from ccprompt.core import files

from . import trust
from .analysis import STALL_S, Analyzer
from .client import ClientProtocol
from .exchange import HEALTH_PATH
from .gate import Gate
from .limits import SWEEP_S, Budget, Limits, Trimmer, raise_open_files
from .message import refusal
from .peers import PeerOwners
from .relay import Pool
from .sink import EVENTS_FILE, Counters
from .upstream import ENV_SPEC, Upstream

__all__ = ["HEALTH_PATH", "SERVICE_NAME", "ProxyServer", "main", "run_loop", "serve"]
SERVICE_NAME = trust.SERVICE_NAME


class ProxyServer:
    """One listening proxy for one upstream. `start()` then `stop()`, inside a running event loop."""

    def __init__(self, upstream: Upstream, *, host: str = "127.0.0.1", port: int = 0, sock=None,
                 events_path: str | None = None, on_event=None, capture_dir: str | None = None,
                 stall_s: float = STALL_S, limits: Limits | None = None, secret: bytes | None = None,
                 owner_only: bool = True) -> None:
        self.upstream = upstream
        self.secret = secret  # the health endpoint answers only a caller that proves it knows this
        self.uids = (os.getuid(), 0)  # the owner, and root, who could read everything anyway
        self.peers = PeerOwners() if owner_only else None
        self.refused_users = 0
        self.limits = limits or Limits()
        self.budget = Budget(self.limits.buffer_bytes)
        self.trimmer = Trimmer()
        self.refused_connections = 0
        self.host = host
        self.port = port
        self._sock = sock
        self.counters = Counters()
        self.waiting = 0  # requests not yet answered with a first body byte
        self.analyzer = Analyzer(events_path=events_path, on_event=on_event, capture_dir=capture_dir,
                                 stall_s=stall_s, counters=self.counters, busy=self.busy)
        self.on_event = on_event  # a PassiveRecorder in the real server: it learns our URL once bound
        self.started = time.time()
        self.requests = 0
        self.pool: Pool | None = None
        self.loop = None
        self.clients: set = set()
        self._server = None
        self._sweeper = None

    def busy(self) -> bool:
        """A request is waiting for its first byte: background work should wait a moment."""
        return self.waiting > 0

    # -- what a connection tells the server -------------------------------------------------------

    def request_waiting(self, change: int) -> None:
        self.waiting += change

    def count_request(self) -> None:
        self.requests += 1

    def connection_made(self, client) -> None:
        """Past the cap, the longest idle connection makes room; with none idle, the new one gets a 503."""
        if len(self.clients) >= self.limits.max_connections:
            idle = [other for other in self.clients if other.idle()]
            if idle:
                oldest = min(idle, key=lambda other: other.idle_since)
                self.clients.discard(oldest)
                oldest.close_idle()
            else:
                self.refused_connections += 1
                client.turn_away(refusal(503, "ccprompt proxy: too many connections"))
                return
        self.clients.add(client)

    def connection_lost(self, client) -> None:
        self.clients.discard(client)
        self.budget.forget(client)

    def _sweep(self) -> None:
        self._sweeper = self.loop.call_later(SWEEP_S, self._sweep)
        now = time.monotonic()
        limits = self.limits
        for client in list(self.clients):
            try:
                client.check(now, limits)
            except Exception:  # noqa: BLE001 - one connection's trouble must not stop the sweep
                client.transport.abort()
        self.trimmer.maybe(now, self.budget.held == 0 and not self.waiting)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> int:
        self.loop = loop = asyncio.get_running_loop()
        self.pool = Pool(self.upstream)
        if self._sock is not None:
            self._server = await loop.create_server(self._protocol, sock=self._sock)
        else:
            self._server = await loop.create_server(self._protocol, self.host, self.port, reuse_address=True)
        bound = self._server.sockets[0].getsockname() if self._server.sockets else None
        if bound:
            self.host, self.port = bound[0], bound[1]
        for listening in self._server.sockets:
            try:
                listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        if hasattr(self.on_event, "add_endpoint"):
            self.on_event.add_endpoint(self.url + "/v1/messages")
        self._sweeper = loop.call_later(SWEEP_S, self._sweep)
        return self.port

    def _protocol(self):
        return Gate(self) if self.peers is not None else ClientProtocol(self)

    def health_reply(self, target: str) -> tuple[int, bytes]:
        """The health request's answer: the document with its proof for a caller holding the secret, else 404."""
        return trust.health_reply(self.secret, self.port, target, self.health)

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            self._server.close()
            for client in list(self.clients):
                if client.transport is not None:
                    client.transport.close()
            await asyncio.sleep(0)
        if self.pool is not None:
            self.pool.close()
        if self.peers is not None:
            self.peers.close()
        self.analyzer.close()
        if hasattr(self.on_event, "close"):
            self.on_event.close()

    def health(self) -> dict:
        return {
            "service": SERVICE_NAME,
            "version": __version__,
            "pid": os.getpid(),
            "supervisor_pid": os.getppid(),
            "port": self.port,
            "upstream": self.upstream.redacted(),
            "upstream_key": self.upstream.key(),
            "started": round(self.started, 3),
            "uptime_s": round(time.time() - self.started, 1),
            "requests": self.requests,
            "in_flight": self.analyzer.in_flight(),
            "connections": len(self.clients),
            "connections_refused": self.refused_connections,
            "other_users_refused": self.refused_users,
            "buffered_request_bytes": self.budget.held,
            **self.counters.as_dict(),
            **(self.on_event.counts() if hasattr(self.on_event, "counts") else {}),
        }


# -- running it ----------------------------------------------------------------------------


async def serve(server: ProxyServer, *, on_ready=None, parent_pid: int | None = None, orphaned=None) -> None:
    """Run until SIGTERM/SIGINT, or until the supervising parent is gone.

    `orphaned()`, when given, is called once the parent is gone, before this server lets go
    of the listening socket: it starts the supervisor that takes the socket over.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    await server.start()
    if on_ready is not None:
        on_ready(server)
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            except asyncio.TimeoutError:
                if parent_pid is not None and os.getppid() != parent_pid:
                    if orphaned is not None:
                        orphaned()
                    break
    finally:
        await server.stop()


def _arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m ccprompt.sources.proxy.server",
                                     description="Run the pass-through proxy in the foreground.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fd", type=int, help="serve on this inherited listening socket")
    parser.add_argument("--upstream", help="base URL; otherwise $" + ENV_SPEC)
    parser.add_argument("--ca-file")
    parser.add_argument("--home", help="directory for requests.jsonl (no events file when omitted)")
    parser.add_argument("--events", help="events file path (overrides --home)")
    parser.add_argument("--capture")
    parser.add_argument("--stall-s", type=float, default=STALL_S)
    parser.add_argument("--parent-pid", type=int)
    parser.add_argument("--supervisor-args", default="", help="the supervisor's own options (JSON), to start "
                        "a new supervisor on the same socket should this one's die")
    return parser.parse_args(argv)


def capture_warning(directory: str) -> str:
    return (f"ccprompt proxy: WARNING: --capture writes full requests and responses (prompts, code, "
            f"replies) to {directory}; auth headers are redacted. Turn it off when done.")


def main(argv=None) -> int:
    args = _arguments(sys.argv[1:] if argv is None else argv)
    try:
        if args.upstream:
            upstream = Upstream(args.upstream, ca_file=args.ca_file)
        else:
            upstream = Upstream.from_env(os.environ[ENV_SPEC])
    except (KeyError, ValueError, TypeError):
        sys.stderr.write("ccprompt proxy: no usable upstream (--upstream URL or $" + ENV_SPEC + ")\n")
        return 2
    events = args.events or (os.path.join(args.home, EVENTS_FILE) if args.home else None)
    secret = None
    if args.home:
        files.private_dir(args.home)
        try:
            secret = trust.load_secret(args.home)
        except OSError as exc:
            sys.stderr.write(f"ccprompt proxy: the health endpoint stays closed: {exc}\n")
    sock = socket.socket(fileno=args.fd) if args.fd is not None else None
    if args.capture:
        sys.stderr.write(capture_warning(args.capture) + "\n")
    recorder = None
    if args.home:  # real requests reach the status line through the recorder
        from ccprompt.core.paths import Paths

        from .passive import PassiveRecorder, endpoint_for

        recorder = PassiveRecorder(Paths({**os.environ, "CCPROMPT_HOME": args.home}),
                                   [endpoint_for(upstream.base_url)])
    server = ProxyServer(upstream, host=args.host, port=args.port, sock=sock, events_path=events,
                         on_event=recorder, capture_dir=args.capture, stall_s=args.stall_s, secret=secret,
                         limits=configured_limits(args.home))
    if recorder is not None:
        recorder.busy = server.busy

    def ready(proxy: ProxyServer) -> None:
        sys.stdout.write(f"ccprompt proxy: {proxy.url} -> {upstream.redacted()}\n")
        sys.stdout.flush()

    def orphaned() -> None:
        if args.fd is not None and args.home:
            from .supervisor import adopt

            adopt(args.fd, args.home, args.supervisor_args)

    try:
        run_loop(serve(server, on_ready=ready, parent_pid=args.parent_pid, orphaned=orphaned))
    except OSError as exc:
        sys.stderr.write(f"ccprompt proxy: cannot listen on {args.host}:{args.port}: {exc.strerror}\n")
        return 1
    return 0


def configured_limits(home: str | None) -> Limits:
    """The `proxy.*` limits of the config (defaults for a bad value), within what the open-file limit allows."""
    from ccprompt.core.config import Config
    from ccprompt.core.paths import Paths

    env = {**os.environ, "CCPROMPT_HOME": home} if home else dict(os.environ)
    limits = Limits.from_config(Config.load(Paths(env)))
    limits.max_connections = min(limits.max_connections, raise_open_files())
    return limits


def run_loop(coroutine):
    """uvloop where it is installed (it trims the per-request cost), else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


if __name__ == "__main__":
    sys.exit(main())
