"""The connection work behind doctor's network checks, done once: target, DNS, TCP, TLS, the Date header.

`trace` walks the path step by step, each step bounded by its own limit and by doctor's
overall deadline, and returns a frozen `NetPath` that the checks only read. It speaks
the standard library's `socket` and `ssl` with the probe's CA and proxy settings, so a
failure can be pinned to one step, with the OpenSSL verify code and the negotiated TLS
version that libcurl does not hand back through pycurl.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

from ccprompt import __version__
from ccprompt.core import netproxy
from ccprompt.core.text import sanitize
from ccprompt.ops.doctor.registry import NET_TIMEOUT_S, Deadline

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
HEAD_LIMIT = 16384


@dataclass(frozen=True)
class Target:
    """Where the network checks go: the API host, and the proxy in front of it if any."""

    url: str
    scheme: str
    host: str
    port: int
    proxy: str = ""  # the proxy URL in effect for this host, secrets included: never print it raw

    @property
    def proxy_scheme(self) -> str:
        return self.proxy.split("://", 1)[0].lower() if "://" in self.proxy else "http"


def resolve_target(url: str, env) -> tuple[Target | None, str]:
    """(the target, "") for a usable base URL, else (None, "invalid" or "not-http")."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None, "invalid"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return None, "not-http"
    host = parts.hostname
    return Target(url, parts.scheme, host, port or (443 if parts.scheme == "https" else 80),
                  proxy_in_effect(url, host, env)), ""


def proxy_in_effect(url: str, host: str, env) -> str:
    from ccprompt.sources.probe import proxy_for

    proxy, no_proxy = proxy_for(url, env)
    from urllib.parse import urlsplit

    try:
        port = urlsplit(url).port
    except ValueError:
        port = None
    return "" if proxy and proxy_bypassed(host, no_proxy, port) else proxy


def proxy_bypassed(host: str, no_proxy: str, port: int | None = None) -> bool:
    """Whether NO_PROXY exempts `host`: the one rule the local proxy follows too."""
    return netproxy.bypasses(host, port, no_proxy)


@dataclass(frozen=True)
class Step:
    """One step of the path: ok, failed or skipped; how long it took; why it did not succeed."""

    state: str
    seconds: float = 0.0
    error: str = ""  # sanitised, for people
    why: str = ""  # for the fix table: refused, timeout, tunnel, budget, unresolved, proxy-scheme, verify, ...

    @property
    def ok(self) -> bool:
        return self.state == OK


@dataclass(frozen=True)
class Dns(Step):
    addresses: tuple = ()


@dataclass(frozen=True)
class Tcp(Step):
    peer: str = ""
    via: str = ""  # host:port of the proxy the tunnel runs through


@dataclass(frozen=True)
class Tls(Step):
    version: str = ""
    cipher: str = ""
    expires: float | None = None
    issuer: str = ""
    verify_code: int | None = None


@dataclass(frozen=True)
class ServerDate(Step):
    server_date: float | None = None  # the Date header, epoch seconds
    local_time: float | None = None  # our clock halfway between sending and receiving


@dataclass(frozen=True)
class NetPath:
    target: Target
    dns: Dns
    tcp: Tcp
    tls: Tls
    date: ServerDate = field(default_factory=lambda: ServerDate(SKIPPED))

    def failed_step(self) -> str | None:
        """DNS, TCP or TLS: the first step that broke the path here (DNS does not, through a proxy)."""
        if self.dns.state == FAILED and not self.target.proxy:
            return "DNS"
        if self.tcp.state == FAILED:
            return "TCP"
        if self.tls.state == FAILED:
            return "TLS"
        return None


def trace(target: Target, env, deadline: Deadline) -> NetPath:
    """Every step in order, each within NET_TIMEOUT_S and all within `deadline`. Never raises for the network."""
    dns = resolve(target, deadline)
    skipped_tls = Tls(SKIPPED, why="no-connection")
    if not dns.ok and not target.proxy:
        why = dns.why if dns.why == "budget" else "unresolved"
        return NetPath(target, dns, Tcp(SKIPPED, why=why), Tls(SKIPPED, why=why))
    if target.proxy and target.proxy_scheme != "http":
        # Only plain CONNECT proxies are spoken here; libcurl's probe still goes through
        # the proxy and judges the whole path.
        return NetPath(target, dns, Tcp(SKIPPED, why="proxy-scheme"), Tls(SKIPPED, why="proxy-scheme"))
    tcp, sock = connect(target, dns, deadline)
    if sock is None:
        return NetPath(target, dns, tcp, Tls(SKIPPED, why="budget") if tcp.why == "budget" else skipped_tls)
    try:
        if target.scheme == "https":
            tls, channel = handshake(sock, target, env, deadline)
        else:
            tls, channel = Tls(SKIPPED, why="http"), sock
        date = read_date(channel, target, deadline) if channel is not None else ServerDate(SKIPPED)
        if channel is not None and channel is not sock:
            channel.close()
    finally:
        sock.close()
    return NetPath(target, dns, tcp, tls, date)


def resolve(target: Target, deadline: Deadline) -> Dns:
    limit = deadline.within(NET_TIMEOUT_S)
    if limit <= 0:
        return Dns(SKIPPED, why="budget")
    result, error, seconds = run_bounded(
        lambda: socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM), limit)
    if error is not None:
        message = error.strerror if isinstance(error, socket.gaierror) and error.strerror else str(error)
        why = "timeout" if isinstance(error, TimeoutError) else "unresolved"
        return Dns(FAILED, seconds, sanitize(message, 160), why)
    addresses = tuple(dict.fromkeys(info[4][0] for info in result))
    return Dns(OK, seconds, addresses=addresses)


def connect(target: Target, dns: Dns, deadline: Deadline):
    """(Tcp, an open socket or None): straight to the host, or a CONNECT tunnel through the proxy."""
    step = deadline.sub(NET_TIMEOUT_S)
    if step.expired():
        return Tcp(SKIPPED, why="budget"), None
    started = time.perf_counter()
    via = ""
    try:
        if target.proxy:
            sock, via = _tunnel(target, step)
        else:
            sock = _connect_any(dns.addresses, target.port, step)
    except (OSError, ValueError) as exc:
        seconds = time.perf_counter() - started
        reason = sanitize(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc, 120)
        if isinstance(exc, (socket.timeout, TimeoutError)):
            reason, why = f"no answer in {step.seconds:.0f} s", "timeout"
        elif isinstance(exc, ConnectionRefusedError):
            why = "refused"
        else:
            why = "proxy" if target.proxy else "blocked"
        return Tcp(FAILED, seconds, reason, why), None
    seconds = time.perf_counter() - started
    peer = via or f"{sock.getpeername()[0]}:{target.port}"
    return Tcp(OK, seconds, peer=peer, via=via), sock


def _connect_any(addresses, port: int, deadline: Deadline) -> socket.socket:
    """The first address that accepts, every attempt within the one deadline."""
    last: OSError = OSError("no address to connect to")
    for address in addresses:
        left = deadline.remaining()
        if left <= 0:
            raise TimeoutError("timed out")
        sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(left)
        try:
            sock.connect((address, port))
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last


def _tunnel(target: Target, deadline: Deadline):
    from urllib.parse import urlsplit

    proxy = target.proxy if "://" in target.proxy else "http://" + target.proxy
    parts = urlsplit(proxy)
    port = parts.port or 1080
    infos, error, _ = run_bounded(lambda: socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM),
                                  deadline.remaining())
    if error is not None:
        raise OSError(f"cannot resolve the proxy {sanitize(parts.hostname, 80)}")
    sock = _connect_any(tuple(dict.fromkeys(info[4][0] for info in infos)), port, deadline)
    try:
        sock.settimeout(max(deadline.remaining(), 0.001))
        sock.sendall(netproxy.connect_request(target.host, target.port, parts.username, parts.password))
        head = read_head(sock, deadline)
    except BaseException:
        sock.close()
        raise
    status, status_line = netproxy.tunnel_status(head)
    if status != 200:
        sock.close()
        raise ConnectionError(f"the proxy refused the tunnel: {sanitize(status_line, 80)}")
    return sock, f"{parts.hostname}:{port}"


def tls_context(env) -> ssl.SSLContext:
    """The probe's trust: SSL_CERT_FILE or CURL_CA_BUNDLE (else the system bundle), plus NODE_EXTRA_CA_CERTS."""
    from ccprompt.sources.probe import ca_settings

    ca = ca_settings(env)
    base = ca["bundle"] or ca["default_bundle"]
    context = ssl.create_default_context(cafile=base) if base else ssl.create_default_context()
    if ca["extra"] and count_certs(ca["extra"]):
        context.load_verify_locations(cafile=ca["extra"])
    return context


def handshake(sock: socket.socket, target: Target, env, deadline: Deadline):
    """(Tls, the TLS socket or None). The socket timeout bounds the whole handshake, not each read."""
    step = deadline.sub(NET_TIMEOUT_S)
    if step.expired():
        return Tls(SKIPPED, why="budget"), None
    started = time.perf_counter()
    try:
        context = tls_context(env)
        sock.settimeout(step.remaining())
        tls = context.wrap_socket(sock, server_hostname=target.host)
    except ssl.SSLCertVerificationError as exc:
        message = sanitize(exc.verify_message or exc.reason or exc, 120)
        why = "hostname" if exc.verify_code == 62 or "hostname" in message.lower() else (
            "expired" if exc.verify_code == 10 else "untrusted")
        return Tls(FAILED, time.perf_counter() - started, message, why, verify_code=exc.verify_code), None
    except (ssl.SSLError, OSError) as exc:
        reason = sanitize(getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc, 120)
        if isinstance(exc, (socket.timeout, TimeoutError)):
            reason = f"no answer in {step.seconds:.0f} s"
        return Tls(FAILED, time.perf_counter() - started, reason, "handshake"), None
    seconds = time.perf_counter() - started
    cert = tls.getpeercert() or {}
    expiry = cert.get("notAfter")
    issuer = dict(x[0] for x in cert.get("issuer", ()) if x)
    return Tls(OK, seconds, version=tls.version() or "", cipher=(tls.cipher() or [""])[0],
               expires=ssl.cert_time_to_seconds(expiry) if expiry else None,
               issuer=issuer.get("organizationName") or issuer.get("commonName") or ""), tls


def read_date(sock, target: Target, deadline: Deadline) -> ServerDate:
    """A HEAD request on the open connection, for the server's Date header (the clock check)."""
    step = deadline.sub(NET_TIMEOUT_S)
    if step.expired():
        return ServerDate(SKIPPED, why="budget")
    request = (f"HEAD /v1/messages HTTP/1.1\r\nHost: {target.host}\r\nUser-Agent: ccprompt/{__version__} "
               "doctor\r\nConnection: close\r\n\r\n")
    started = time.perf_counter()
    try:
        sent = time.time()
        sock.settimeout(max(step.remaining(), 0.001))
        sock.sendall(request.encode())
        head = read_head(sock, step)
        received = time.time()
    except (socket.timeout, TimeoutError):
        why = "budget" if deadline.expired() else "timeout"
        return ServerDate(FAILED, time.perf_counter() - started, f"no full answer in {step.seconds:.0f} s", why)
    except OSError as exc:
        return ServerDate(FAILED, time.perf_counter() - started, sanitize(exc, 120), "broken")
    seconds = time.perf_counter() - started
    from email.utils import parsedate_to_datetime

    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "date":
            try:
                server_date = parsedate_to_datetime(value.strip()).timestamp()
            except (TypeError, ValueError):
                break
            return ServerDate(OK, seconds, server_date=server_date, local_time=(sent + received) / 2)
    return ServerDate(FAILED, seconds, "no Date header", "missing")


def read_head(sock, deadline: Deadline, limit: int = HEAD_LIMIT) -> bytes:
    """An HTTP response head, the whole read bounded by `deadline` (a server trickling bytes cannot stretch it)."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        left = deadline.remaining()
        if left <= 0:
            raise TimeoutError("the answer did not finish in time")
        sock.settimeout(left)
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n\r\n", 1)[0]


def run_bounded(fn, timeout_s: float):
    """Run fn in a thread; (result, error, seconds). getaddrinfo has no timeout of its own."""
    box: dict = {}

    def run():
        started = time.perf_counter()
        try:
            box["result"] = fn()
        except BaseException as exc:  # handed back to the caller, never raised in the thread
            box["error"] = exc
        box["seconds"] = time.perf_counter() - started

    if timeout_s <= 0:
        return None, TimeoutError("no time left"), 0.0
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        return None, TimeoutError(f"no answer in {timeout_s:.0f} s"), timeout_s
    return box.get("result"), box.get("error"), box.get("seconds", 0.0)


def count_certs(path):
    """How many PEM certificates a file holds; None when it cannot be read."""
    from ccprompt.core import files

    try:
        return files.read_regular(path, 16 << 20).count(b"-----BEGIN CERTIFICATE-----")
    except OSError:
        return None
