"""The reverse proxy: aiohttp in, aiohttp out, bytes passed through as they arrive.

The only deliberate changes to traffic: hop-by-hop headers (Connection and the headers it
names, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade) are dropped, Host
names the upstream, and the base URL's path prefix is put in front of the request path.
Bodies are not decompressed (`auto_decompress=False`), so what the client receives is the
upstream's bytes. `GET /__ccprompt/health` is answered here and never forwarded.

This is the only place, with its package, that imports aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sys
import time

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from ccprompt import __version__
from ccprompt.core import files

from .analysis import STALL_S, Analyzer, Attempt
from .connector import TimedConnector, current_attempt
from .sink import EVENTS_FILE, Counters
from .upstream import ENV_SPEC, Upstream

HEALTH_PATH = "/__ccprompt/health"
SERVICE_NAME = "ccprompt-proxy"
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                        "proxy-authorization", "te", "trailer", "trailers", "transfer-encoding", "upgrade"})
# aiohttp's client adds these when absent; a pass-through must not.
NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
MAX_REQUEST_BODY = 64 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
CONNECT_TIMEOUT_S = 10.0
POOL_KEEPALIVE_S = 30.0
CLIENT_KEEPALIVE_S = 3600.0  # never close an idle client connection first: a client racing our close sees a reset


def _forwardable(pairs):
    """Headers minus hop-by-hop ones and minus whatever the Connection header names."""
    named = set()
    for name, value in pairs:
        if name.lower() == "connection":
            named.update(token.strip().lower() for token in value.split(","))
    return tuple((name, value) for name, value in pairs
                 if name.lower() not in HOP_BY_HOP and name.lower() not in named and name.lower() != "host")


def _error_body(message: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": "api_error", "message": message}}).encode()


def _describe(exc: BaseException) -> str:
    """A short reason that names the failure without echoing URLs (which may carry a password)."""
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return "cannot connect to the outbound proxy"
    if isinstance(exc, aiohttp.ClientSSLError):
        return "TLS handshake with the upstream failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror if getattr(exc, "os_error", None) and exc.os_error.strerror else "failed"
        return f"cannot connect to {exc.host}:{exc.port}: {reason}"
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return "timed out connecting"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the upstream closed the connection"
    return type(exc).__name__


class _Passthrough(web.StreamResponse):
    """A StreamResponse that adds no Date, Server or Content-Type of its own.

    Its headers wait for the first write, so headers and a first chunk that is already
    here leave in one packet; `_relay` writes at once either way.
    """

    _send_headers_immediately = False

    async def _prepare_headers(self) -> None:
        absent = [name for name in ("Date", "Server", "Content-Type") if name not in self.headers]
        await super()._prepare_headers()
        for name in absent:
            self.headers.popall(name, None)


class ProxyServer:
    """One listening proxy for one upstream. `start()` then `stop()`, inside a running event loop."""

    def __init__(self, upstream: Upstream, *, host: str = "127.0.0.1", port: int = 0, sock=None,
                 events_path: str | None = None, on_event=None, capture_dir: str | None = None,
                 stall_s: float = STALL_S) -> None:
        self.upstream = upstream
        self.host = host
        self.port = port
        self._sock = sock
        self.counters = Counters()
        self.analyzer = Analyzer(events_path=events_path, on_event=on_event, capture_dir=capture_dir,
                                 stall_s=stall_s, counters=self.counters)
        self.on_event = on_event  # a PassiveRecorder in the real server: it learns our URL once bound
        self.started = time.time()
        self.requests = 0
        self._proxy = upstream.outbound_proxy()
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.ServerRunner | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> int:
        connector = TimedConnector(
            ssl=self.upstream.ssl_context() if self.upstream.https else False,
            limit=0, limit_per_host=0, keepalive_timeout=POOL_KEEPALIVE_S, ttl_dns_cache=60,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None, connect=None, sock_connect=CONNECT_TIMEOUT_S),
            auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
            max_line_size=MAX_HEADER_BYTES, max_field_size=MAX_HEADER_BYTES, trust_env=False,
        )
        server = web.Server(self._handle, keepalive_timeout=CLIENT_KEEPALIVE_S,
                            max_line_size=MAX_HEADER_BYTES, max_field_size=MAX_HEADER_BYTES)
        self._runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        if self._sock is not None:
            site = web.SockSite(self._runner, self._sock)
        else:
            site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        bound = site._server.sockets[0].getsockname() if site._server else None  # noqa: SLF001
        if bound:
            self.host, self.port = bound[0], bound[1]
        if hasattr(self.on_event, "add_endpoint"):
            self.on_event.add_endpoint(self.url + "/v1/messages")
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
        self.analyzer.close()
        if hasattr(self.on_event, "close"):
            self.on_event.close()

    def health(self) -> dict:
        return {
            "service": SERVICE_NAME,
            "version": __version__,
            "pid": os.getpid(),
            "port": self.port,
            "upstream": self.upstream.redacted(),
            "upstream_key": self.upstream.key(),
            "started": round(self.started, 3),
            "uptime_s": round(time.time() - self.started, 1),
            "requests": self.requests,
            "in_flight": self.analyzer.in_flight(),
            **self.counters.as_dict(),
            **(self.on_event.counts() if hasattr(self.on_event, "counts") else {}),
        }

    # -- one request ---------------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        raw_path = request.raw_path
        if raw_path.split("?", 1)[0] == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return web.json_response(self.health())
        self.requests += 1
        attempt = Attempt(request.method, raw_path)
        if request.headers.get("Expect", "").lower() == "100-continue":
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = await _read_body(request)
        if body is None:
            return web.Response(status=413, body=_error_body("ccprompt proxy: request body too large"),
                                content_type="application/json")
        headers = _forwardable(tuple(request.headers.items()))
        analyzer = self.analyzer
        analyzer.begin(attempt, headers, body)
        attempt.t0 = time.monotonic()
        try:
            upstream_response = await self._send(request.method, raw_path, headers, body, attempt)
        except Exception as exc:  # noqa: BLE001 - every failure to reach the upstream is a 502
            detail = _describe(exc)
            analyzer.end(attempt, "upstream_unreachable", detail, time.monotonic())
            return web.Response(status=502, body=_error_body(f"ccprompt proxy: upstream unreachable: {detail}"),
                                content_type="application/json")
        return await self._relay(request, upstream_response, attempt)

    async def _send(self, method: str, raw_path: str, headers, body: bytes, attempt: Attempt):
        url = URL(self.upstream.target(raw_path), encoded=True)
        current_attempt.set(attempt)
        for tries_left in (1, 0):
            attempt.reused = True  # until the connector says it made a new connection
            try:
                return await self._session.request(
                    method, url, headers=CIMultiDict(headers), data=body if body else None,
                    allow_redirects=False, proxy=self._proxy, skip_auto_headers=NO_AUTO_HEADERS,
                )
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                # A pooled connection the upstream had just closed: nothing was answered, and
                # the whole body is still here, so sending it once more is safe.
                if not (attempt.reused and tries_left):
                    raise
        raise AssertionError("unreachable")

    async def _relay(self, request: web.BaseRequest, upstream: aiohttp.ClientResponse,
                     attempt: Attempt) -> web.StreamResponse:
        analyzer = self.analyzer
        monotonic = time.monotonic
        outcome, detail = "ok", None
        try:
            headers = _forwardable(tuple(upstream.headers.items()))
            analyzer.response(attempt, upstream.status, upstream.reason or "", headers, monotonic())
            response = _Passthrough(status=upstream.status, reason=upstream.reason)
            for name, value in headers:
                response.headers.add(name, value)
            try:
                await response.prepare(request)
            except (ConnectionError, aiohttp.ClientError):
                outcome = "client_aborted"
                return response
            read, write = upstream.content.readany, response.write
            try:
                first = upstream.content.read_nowait()  # only what has already arrived
            except Exception:  # noqa: BLE001 - an upstream error shows again on the first read
                first = b""
            if first:
                analyzer.chunk(attempt, first, monotonic())
            try:
                await write(first)  # the headers, with the first chunk when there is one
            except (ConnectionError, aiohttp.ClientError, RuntimeError):
                outcome = "client_aborted"
                return response
            while True:
                try:
                    chunk = await read()
                except Exception as exc:  # noqa: BLE001
                    # The upstream broke off mid-body: close the client's connection too, so the
                    # truncation shows there instead of looking like a complete response.
                    outcome, detail = "error", f"upstream stream broken: {_describe(exc)}"
                    if request.transport is not None:
                        request.transport.close()
                    return response
                if not chunk:
                    break
                analyzer.chunk(attempt, chunk, monotonic())
                try:
                    await write(chunk)
                except (ConnectionError, aiohttp.ClientError, RuntimeError):
                    outcome = "client_aborted"
                    return response
            try:
                await response.write_eof()
            except (ConnectionError, aiohttp.ClientError, RuntimeError):
                outcome = "client_aborted"
            return response
        finally:
            if outcome == "ok":
                upstream.release()
            else:
                upstream.close()
            analyzer.end(attempt, outcome, detail, monotonic())


async def _read_body(request: web.BaseRequest) -> bytes | None:
    if not request.body_exists:
        return b""
    parts, size = [], 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > MAX_REQUEST_BODY:
            return None
        parts.append(chunk)
    return b"".join(parts)


# -- running it ----------------------------------------------------------------------------


async def serve(server: ProxyServer, *, on_ready=None, parent_pid: int | None = None) -> None:
    """Run until SIGTERM/SIGINT, or until the supervising parent is gone."""
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
    if args.home:
        files.private_dir(args.home)
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
                         on_event=recorder, capture_dir=args.capture, stall_s=args.stall_s)

    def ready(proxy: ProxyServer) -> None:
        sys.stdout.write(f"ccprompt proxy: {proxy.url} -> {upstream.redacted()}\n")
        sys.stdout.flush()

    try:
        run_loop(serve(server, on_ready=ready, parent_pid=args.parent_pid))
    except OSError as exc:
        sys.stderr.write(f"ccprompt proxy: cannot listen on {args.host}:{args.port}: {exc.strerror}\n")
        return 1
    return 0


def run_loop(coroutine):
    """uvloop where it is installed (it trims the per-request cost), else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


if __name__ == "__main__":
    sys.exit(main())
