"""`ccprompt doctor`: checks every link from this machine to the API and says how to fix each broken one.

Each check is ✓ (fine), ! (worth a look) or ✗ (broken), with a one-line fix for the last
two. The network checks use the standard library's `socket` and `ssl` with the same CA
and proxy settings as the probe, so a failure can be pinned to DNS, TCP or TLS; then one
real probe gives the verdict. Doctor records nothing: the probe is not written to the
state or the history, so a diagnosis never disturbs the baseline.
"""

from __future__ import annotations

import os
import socket
import ssl
import sys
import threading
import time
from dataclasses import asdict, dataclass, field

from ccprompt import __version__
from ccprompt.core.paths import Paths

OK, WARN, FAIL = "ok", "warn", "fail"
MARKS = {OK: "✓", WARN: "!", FAIL: "✗"}
COLORS = {OK: "32", WARN: "33", FAIL: "31"}
NET_TIMEOUT_S = 5.0
OFFICIAL_HOST = "api.anthropic.com"
EXPIRY_WARN_DAYS = 14
SKEW_WARN_S = 10
SKEW_FAIL_S = 300
KIND_NAMES = {"api_key": "API key", "auth_token": "auth token", "oauth_token": "OAuth token"}
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
              "NO_PROXY", "no_proxy")
RC_MARKERS = ("# >>> ccprompt >>>", "ccprompt init")
CLOCK_FIX = ("sync the clock: `sudo timedatectl set-ntp true` (Linux) or System Settings > General > "
             "Date & Time > Set automatically (macOS)")


@dataclass
class Check:
    """One line of the report."""

    id: str
    title: str
    level: str
    detail: str
    fix: str = ""
    data: dict = field(default_factory=dict)


@dataclass
class Target:
    """Where the network checks go: the API host, and the proxy in front of it if any."""

    url: str
    scheme: str
    host: str
    port: int
    proxy: str = ""  # the proxy URL in effect for this host, secrets included: never print it raw
    addresses: list = field(default_factory=list)
    dns_ok: bool = False
    server_date: float | None = None
    date_local: float | None = None


def _timed(fn, timeout_s: float):
    """Run fn in a thread; (result, error, seconds). getaddrinfo has no timeout of its own."""
    box = {}

    def run():
        started = time.perf_counter()
        try:
            box["result"] = fn()
        except BaseException as exc:  # handed back to the caller, never raised in the thread
            box["error"] = exc
        box["seconds"] = time.perf_counter() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        return None, TimeoutError(f"no answer in {timeout_s:.0f} s"), timeout_s
    return box.get("result"), box.get("error"), box.get("seconds", 0.0)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _clean(text, limit: int = 160) -> str:
    from ccprompt.core.text import sanitize

    return sanitize(text, limit)


def proxy_bypassed(host: str, no_proxy: str) -> bool:
    """Whether NO_PROXY exempts `host`, read the way libcurl reads it."""
    host = host.lower().strip("[]")
    for entry in (no_proxy or "").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if entry.count(":") == 1:
            entry = entry.split(":", 1)[0]  # host:port; ports are not compared
        entry = entry.strip("[]").lstrip(".")
        if host == entry or host.endswith("." + entry):
            return True
    return False


class Doctor:
    """Runs the checks in order; later network checks build on what earlier ones found."""

    def __init__(self, env=None):
        self.env = os.environ if env is None else env
        self.paths = Paths(self.env)
        self.checks: list[Check] = []
        self.config = None
        self.credential = None
        self.target: Target | None = None
        self.tls_ok = False
        self.tcp_ok = False

    def add(self, *args, **kwargs) -> Check:
        check = Check(*args, **kwargs)
        self.checks.append(check)
        return check

    def run(self) -> list:
        for step in (self.versions, self.configuration, self.credentials, self.base_url, self.dns, self.proxy,
                     self.ca_bundle, self.tcp_tls, self.probe, self.state_dir, self.state_freshness,
                     self.watcher, self.statusline, self.shell_rc, self.clock):
            try:
                step()
            except Exception as exc:  # one broken check must not hide the others
                self.add(step.__name__, step.__name__.replace("_", " "), FAIL,
                         f"check crashed: {type(exc).__name__}: {_clean(exc)}",
                         "please report this with `ccprompt doctor --json`")
        return self.checks

    # -- the install itself -----------------------------------------------------------

    def versions(self) -> None:
        from ccprompt.core.paths import executable_words

        argv = executable_words()
        data = {"ccprompt": __version__, "python": sys.version.split()[0], "executable": argv,
                "python_executable": sys.executable}
        try:
            import pycurl

            data["libcurl"] = pycurl.version_info()[1]
        except ImportError as exc:
            self.add("versions", "ccprompt", FAIL, f"{__version__} on Python {data['python']}, but pycurl is "
                     f"missing ({_clean(exc)})", "reinstall: ./install.sh, or `pip install pycurl` in "
                     "ccprompt's environment", data)
            return
        self.add("versions", "ccprompt", OK, f"{__version__} on Python {data['python']}, libcurl "
                 f"{data['libcurl']} ({' '.join(argv)})", data=data)

    def configuration(self) -> None:
        from ccprompt.core.config import Config

        path = self.paths.config_file
        self.config = Config.load(self.paths)
        if self.config.problems:
            self.add("config", "config", FAIL, _clean(self.config.first_problem(), 200),
                     f"fix or remove it in {path}; defaults apply meanwhile (`ccprompt config check`)",
                     {"path": path, "problems": [p.line() for p in self.config.problems]})
            return
        if self.config.unknown:
            self.add("config", "config", WARN, _clean(self.config.warnings()[0], 200),
                     f"remove or correct it in {path}", {"path": path, "unknown": self.config.unknown})
            return
        where = path if os.path.exists(path) else f"{path} (absent: defaults)"
        if not self.config.get("monitoring_enabled", True):
            self.add("config", "config", WARN, f"{where}: monitoring_enabled = false, nothing is probed",
                     f"set monitoring_enabled = true in {path}", {"path": path})
            return
        self.add("config", "config", OK, f"{where}; probe model {_clean(self.config.get('probe_model'), 60)}",
                 data={"path": path, "probe_model": self.config.get("probe_model"),
                       "anonymous": self.config.get("anonymous")})

    def credentials(self) -> None:
        from ccprompt.sources import credentials

        self.credential = credential = credentials.resolve(self.paths)
        data = {k: v for k, v in credential.describe().items() if k in ("source", "kind", "variable",
                                                                          "token_length")}
        if credential.present:
            self.add("credential", "credential", OK,
                     f"{KIND_NAMES.get(credential.kind, credential.kind)} {credential.variable} from "
                     f"{credential.source}, {credential.token_length} characters", data=data)
            return
        fix = ("export ANTHROPIC_API_KEY=... (or ANTHROPIC_AUTH_TOKEN / CLAUDE_CODE_OAUTH_TOKEN) in your "
               "shell rc or the env object of ~/.claude/settings.json")
        if self.config.get("anonymous", True):
            self.add("credential", "credential", WARN,
                     "none found; probing anonymously (a 401 from the API still proves the path works)",
                     fix + ", if you want the credential itself checked", data)
        else:
            self.add("credential", "credential", FAIL, "none found, and anonymous = false: nothing can be probed",
                     fix + "; or set anonymous = true in the config", data)

    def base_url(self) -> None:
        from urllib.parse import urlsplit

        from ccprompt.core.text import redact_url

        url = self.credential.base_url
        shown = _clean(redact_url(url), 200)
        source = self.credential.base_url_source
        fix_bad = "set ANTHROPIC_BASE_URL to a URL like https://api.anthropic.com, or unset it"
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            self.add("base_url", "base URL", FAIL, f"{shown} ({source}) is not a valid URL", fix_bad)
            return
        if parts.scheme not in ("https", "http") or not parts.hostname:
            self.add("base_url", "base URL", FAIL, f"{shown} ({source}) is not an http(s) URL", fix_bad)
            return
        host = parts.hostname
        self.target = Target(url, parts.scheme, host, port or (443 if parts.scheme == "https" else 80))
        official = parts.scheme == "https" and host == OFFICIAL_HOST
        data = {"url": redact_url(url), "source": source, "official": official}
        if official:
            self.add("base_url", "base URL", OK, f"{shown} ({source}): the official API", data=data)
        elif parts.scheme == "http" and not _loopback(host):
            self.add("base_url", "base URL", WARN, f"{shown} ({source}): plain http, the credential travels "
                     "unencrypted", "use an https:// URL for ANTHROPIC_BASE_URL", data)
        else:
            self.add("base_url", "base URL", OK, f"{shown} ({source}): not the official API (a gateway or "
                     "proxy); results describe that endpoint", data=data)

    # -- the network path --------------------------------------------------------------

    def _proxy(self) -> str:
        from ccprompt.sources.probe import proxy_for

        proxy, no_proxy = proxy_for(self.target.url, self.env)
        if proxy and proxy_bypassed(self.target.host, no_proxy):
            return ""
        return proxy

    def dns(self) -> None:
        target = self.target
        if target is None:
            self.add("dns", "DNS", WARN, "skipped: no usable base URL", "correct the base URL first")
            return
        target.proxy = self._proxy()
        result, error, seconds = _timed(
            lambda: socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM), NET_TIMEOUT_S)
        host = _clean(target.host, 100)
        if error is not None:
            message = error.strerror if isinstance(error, socket.gaierror) and error.strerror else str(error)
            data = {"host": target.host, "error": _clean(message), "seconds": round(seconds, 4)}
            if target.proxy:
                self.add("dns", "DNS", WARN, f"{host} does not resolve here ({_clean(message)}), but requests "
                         "go through the proxy, which resolves it", "nothing to do unless the proxy fails too",
                         data)
                return
            self.add("dns", "DNS", FAIL, f"cannot resolve {host}: {_clean(message)} (after {_ms(seconds)})",
                     f"check the host in ANTHROPIC_BASE_URL ({self.credential.base_url_source}), then your DNS "
                     f"resolver, VPN or /etc/hosts (`getent hosts {host}`)", data)
            return
        addresses = list(dict.fromkeys(info[4][0] for info in result))
        target.addresses, target.dns_ok = addresses, True
        shown = ", ".join(addresses[:4]) + (f" and {len(addresses) - 4} more" if len(addresses) > 4 else "")
        self.add("dns", "DNS", OK, f"{host} -> {shown} in {_ms(seconds)}",
                 data={"host": target.host, "addresses": addresses, "seconds": round(seconds, 4)})

    def proxy(self) -> None:
        from ccprompt.core.text import redact_url

        present = {name: self.env[name] for name in PROXY_VARS if self.env.get(name)}
        shown = {name: (value if "no_proxy" in name.lower() else redact_url(value)) for name, value in present.items()}
        data = {"variables": shown, "in_effect": redact_url(self.target.proxy) if self.target else None}
        if not present:
            self.add("proxy", "proxy", OK, "no proxy variables set: direct connection", data=data)
            return
        listing = ", ".join(f"{name}={_clean(value, 80)}" for name, value in shown.items())
        if self.target and self.target.proxy:
            proxy = self.target.proxy
            if not proxy.lower().startswith(("http://", "https://", "socks")) and "://" in proxy:
                self.add("proxy", "proxy", FAIL, f"{listing}: unsupported proxy scheme",
                         "use an http:// proxy URL in HTTPS_PROXY", data)
                return
            self.add("proxy", "proxy", OK, f"{listing}; {_clean(self.target.host, 80)} goes through "
                     f"{_clean(redact_url(proxy), 120)}", data=data)
        else:
            self.add("proxy", "proxy", OK, f"{listing}; {_clean(self.target.host if self.target else '?', 80)} "
                     "is reached directly", data=data)

    def ca_bundle(self) -> None:
        from ccprompt.sources.probe import ca_settings

        ca = ca_settings(self.env)
        variable = ca["variable"]
        data = {"bundle": ca["bundle"], "variable": variable, "default_bundle": ca["default_bundle"],
                "node_extra_ca_certs": ca["extra"]}
        problems = []
        base = ca["bundle"] or ca["default_bundle"]
        count = _count_certs(base) if base else None
        if ca["bundle"] and count is None:
            problems.append((f"{variable}={_clean(ca['bundle'], 120)} is not a readable file",
                             f"point {variable} at an existing PEM bundle, or unset it"))
        if ca["extra"]:
            extra_count = _count_certs(ca["extra"])
            data["node_extra_count"] = extra_count
            if not extra_count:
                problems.append((f"NODE_EXTRA_CA_CERTS={_clean(ca['extra'], 120)} is missing or holds no "
                                 "certificate", "point NODE_EXTRA_CA_CERTS at a PEM file with your CA, or unset it"))
            extra = f"; NODE_EXTRA_CA_CERTS adds {extra_count or 0} from {_clean(ca['extra'], 120)}"
        else:
            extra = "; NODE_EXTRA_CA_CERTS not set"
        if problems:
            detail, fix = problems[0]
            self.add("ca", "CA bundle", FAIL, detail + ("" if len(problems) == 1 else f"; {problems[1][0]}"),
                     fix, data)
            return
        if ca["bundle"]:
            where = f"{_clean(ca['bundle'], 120)} ({variable}), {count} certificate{'' if count == 1 else 's'}"
        elif base:
            where = f"{base} (system default), {count} certificate{'' if count == 1 else 's'}"
        else:
            where = "libcurl's built-in default"
        self.add("ca", "CA bundle", OK, where + extra, data=data)

    def _context(self) -> ssl.SSLContext:
        from ccprompt.sources.probe import ca_settings

        ca = ca_settings(self.env)
        base = ca["bundle"] or ca["default_bundle"]
        context = ssl.create_default_context(cafile=base) if base else ssl.create_default_context()
        if ca["extra"] and _count_certs(ca["extra"]):
            context.load_verify_locations(cafile=ca["extra"])
        return context

    def _connect(self):
        """A TCP connection to the API host, tunnelled through the proxy when one is in effect."""
        target = self.target
        if not target.proxy:
            return socket.create_connection((target.host, target.port), timeout=NET_TIMEOUT_S), None
        from urllib.parse import unquote, urlsplit

        proxy = target.proxy if "://" in target.proxy else "http://" + target.proxy
        parts = urlsplit(proxy)
        sock = socket.create_connection((parts.hostname, parts.port or 1080), timeout=NET_TIMEOUT_S)
        request = f"CONNECT {target.host}:{target.port} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
        if parts.username:
            import base64

            token = base64.b64encode(f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode())
            request += f"Proxy-Authorization: Basic {token.decode()}\r\n"
        sock.sendall((request + "\r\n").encode())
        head = _read_head(sock)
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        fields = status_line.split()
        if len(fields) < 2 or fields[1] != "200":
            sock.close()
            raise ConnectionError(f"the proxy refused the tunnel: {_clean(status_line, 80)}")
        return sock, f"{parts.hostname}:{parts.port or 1080}"

    def tcp_tls(self) -> None:
        target = self.target
        if target is None or (not target.dns_ok and not target.proxy):
            self.add("tcp", "TCP", WARN, "skipped: the host did not resolve", "resolve the DNS problem above first")
            self.add("tls", "TLS", WARN, "skipped: no connection", "resolve the DNS problem above first")
            return
        host = _clean(target.host, 100)
        scheme = target.proxy.split("://", 1)[0].lower() if "://" in target.proxy else "http"
        if target.proxy and scheme != "http":
            # Only plain CONNECT proxies are spoken here; libcurl's probe below still
            # goes through the proxy and judges the whole path.
            why = f"skipped: the TCP/TLS check cannot go through a {_clean(scheme, 20)}:// proxy"
            self.add("tcp", "TCP", WARN, why, "rely on the probe line below for this path")
            self.add("tls", "TLS", WARN, why, "rely on the probe line below for this path")
            return
        started = time.perf_counter()
        try:
            sock, via = self._connect()
        except (OSError, ValueError) as exc:
            seconds = time.perf_counter() - started
            reason = _clean(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc, 120)
            if isinstance(exc, (socket.timeout, TimeoutError)):
                reason = f"no answer in {NET_TIMEOUT_S:.0f} s"
            where = f"{host}:{target.port}" + (" through the proxy" if target.proxy else "")
            if isinstance(exc, ConnectionRefusedError):
                fix = "nothing listens there: check the port in ANTHROPIC_BASE_URL, or whether a firewall rejects it"
            elif target.proxy:
                fix = "check HTTPS_PROXY (address, port, credentials) and that the proxy is running"
            else:
                fix = (f"a firewall, VPN or captive portal is blocking {where}; if your network needs a proxy, "
                       "set HTTPS_PROXY")
            self.add("tcp", "TCP", FAIL, f"cannot connect to {where}: {reason} (after {_ms(seconds)})", fix,
                     {"seconds": round(seconds, 4), "error": reason})
            self.add("tls", "TLS", WARN, "skipped: no connection", "resolve the TCP problem above first")
            return
        seconds = time.perf_counter() - started
        self.tcp_ok = True
        if via:
            peer = via
            detail = f"connected to the proxy {_clean(via, 100)} in {_ms(seconds)}, tunnel to {host}:{target.port}"
        else:
            peer = f"{sock.getpeername()[0]}:{target.port}"
            detail = f"connected to {peer} in {_ms(seconds)}"
        self.add("tcp", "TCP", OK, detail, data={"seconds": round(seconds, 4), "peer": peer, "via_proxy": bool(via)})
        try:
            channel = self._handshake(sock) if target.scheme == "https" else sock
            if channel is not None:
                self._read_date(channel)
                channel.close()
        finally:
            sock.close()

    def _handshake(self, sock):
        target = self.target
        host = _clean(target.host, 100)
        started = time.perf_counter()
        try:
            context = self._context()
            tls = context.wrap_socket(sock, server_hostname=target.host)
        except ssl.SSLCertVerificationError as exc:
            seconds = time.perf_counter() - started
            message = _clean(exc.verify_message or exc.reason or exc, 120)
            data = {"error": message, "verify_code": exc.verify_code, "seconds": round(seconds, 4)}
            if exc.verify_code == 62 or "hostname" in message.lower():
                fix = f"the certificate is for another name: check the host in ANTHROPIC_BASE_URL ({host})"
            elif exc.verify_code == 10:
                fix = "the server's certificate has expired; if the clock is right, whoever runs the endpoint must renew it"
            else:
                fix = ("if a company proxy or antivirus inspects TLS, add its CA: export NODE_EXTRA_CA_CERTS="
                       "/path/to/ca.pem (Claude Code and ccprompt both read it)")
            self.add("tls", "TLS", FAIL, f"certificate of {host} not trusted: {message}", fix, data)
            return None
        except (ssl.SSLError, OSError) as exc:
            reason = _clean(getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc, 120)
            if isinstance(exc, (socket.timeout, TimeoutError)):
                reason = f"no answer in {NET_TIMEOUT_S:.0f} s"
            self.add("tls", "TLS", FAIL, f"handshake with {host} failed: {reason}",
                     "something on the path is not speaking TLS (a captive portal, or a proxy that needs "
                     "HTTPS_PROXY); check that the URL's port serves https", {"error": reason})
            return None
        seconds = time.perf_counter() - started
        self.tls_ok = True
        cert = tls.getpeercert() or {}
        data = {"seconds": round(seconds, 4), "version": tls.version(), "cipher": (tls.cipher() or [None])[0]}
        expiry = cert.get("notAfter")
        level, fix, expiry_text = OK, "", ""
        if expiry:
            expires = ssl.cert_time_to_seconds(expiry)
            days = (expires - time.time()) / 86400
            data.update(expires=time.strftime("%Y-%m-%d", time.gmtime(expires)), days_left=round(days, 1))
            expiry_text = f", certificate valid until {data['expires']} ({days:.0f} days)"
            if days < EXPIRY_WARN_DAYS:
                level, fix = WARN, "the certificate expires soon; whoever runs the endpoint should renew it"
        issuer = dict(x[0] for x in cert.get("issuer", ()) if x)
        if issuer:
            data["issuer"] = issuer.get("organizationName") or issuer.get("commonName")
            expiry_text += f", issued by {_clean(data['issuer'], 60)}"
        self.add("tls", "TLS", level, f"{data['version']} in {_ms(seconds)}{expiry_text}", fix, data)
        return tls

    def _read_date(self, sock) -> None:
        """A HEAD request on the open connection, for the server's Date header (the clock check)."""
        target = self.target
        request = (f"HEAD /v1/messages HTTP/1.1\r\nHost: {target.host}\r\nUser-Agent: ccprompt/{__version__} "
                   "doctor\r\nConnection: close\r\n\r\n")
        try:
            sent = time.time()
            sock.sendall(request.encode())
            head = _read_head(sock)
            received = time.time()
        except OSError:
            return
        from email.utils import parsedate_to_datetime

        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "date":
                try:
                    target.server_date = parsedate_to_datetime(value.strip()).timestamp()
                except (TypeError, ValueError):
                    return
                target.date_local = (sent + received) / 2
                return

    # -- the verdict ---------------------------------------------------------------------

    def probe(self) -> None:
        from ccprompt.core.render import ICONS
        from ccprompt.sources import recorder

        outcome, state = recorder.probe_and_record(self.paths, self.config, "MANUAL", write=False)
        if outcome is None:
            reason = _clean(state.reason, 80)
            if reason == "monitoring off":
                self.add("probe", "probe", WARN, "not run: monitoring is off", "set monitoring_enabled = true")
            else:
                self.add("probe", "probe", FAIL, f"not run: {reason} (no credential, anonymous = false)",
                         "set a credential (see the credential line), or anonymous = true")
            return
        status = outcome.status
        http = f"HTTP {outcome.http_status}" + (f" (HTTP/{outcome.http_version})" if outcome.http_version else "") \
            if outcome.http_status else "no HTTP answer"
        detail = f"{ICONS.get(status, ICONS['unknown'])} {status}: {http}, {state.breakdown()}"
        if status != "healthy" or outcome.anonymous:
            detail += f"; {_clean(outcome.reason, 120)}"
        if outcome.anonymous and outcome.http_status == 401:
            detail += " (anonymous: auth not checked)"
        data = {"status": status, "http_status": outcome.http_status, "error_type": outcome.error_type,
                "failure_phase": outcome.failure_phase, "phases_ms": outcome.phases_ms,
                "request_id": outcome.request_id, "recorded": False}
        level = {"healthy": OK, "degraded": WARN}.get(status, FAIL)
        self.add("probe", "probe", level, detail + " (not recorded)", "" if level == OK else self._probe_fix(outcome),
                 data)

    def _probe_fix(self, outcome) -> str:
        kind = outcome.error_type
        model = _clean(outcome.model, 60)
        if outcome.failure_phase == "timeout":
            return (f"no answer within {outcome.timeout_ms} ms: see the lines above; on a slow link raise "
                    "CCPROMPT_TIMEOUT_MS (up to 6000)")
        if outcome.failure_phase in ("dns", "tcp", "tls"):
            phase = outcome.failure_phase.upper()
            # The probe and the checks above can name different steps (a refused proxy
            # tunnel is a TLS failure to libcurl); point at the check that actually failed.
            failed = next((c.title for c in self.checks if c.id in ("dns", "tcp", "tls") and c.level == FAIL), None)
            if failed:
                return f"the {phase} step failed: see the {failed} line above"
            return {
                "DNS": "the host did not resolve for libcurl: check /etc/hosts, the resolver and the proxy settings",
                "TCP": "libcurl could not connect: check the proxy settings and any firewall",
                "TLS": "libcurl rejected the TLS connection: check SSL_CERT_FILE, CURL_CA_BUNDLE and the proxy",
            }[phase]
        if outcome.failure_phase:
            return "the connection broke before an answer: run again, and check the proxy if one is in effect"
        fixes = {
            "authentication_error": f"the API rejected the credential from {self.credential.source} "
                                    f"({self.credential.variable}): replace it with a valid one",
            "permission_error": f"the credential may not use {model}: set probe_model in the config "
                                "(or CCPROMPT_PROBE_MODEL) to a model it can use",
            "not_found_error": f"not found: check that ANTHROPIC_BASE_URL has no /v1 suffix and that {model} exists",
            "invalid_request_error": f"the API refused the probe request: set probe_model to a current model "
                                    f"(now {model})",
            "billing_error": "the account has a billing problem: see console.anthropic.com, Billing",
            "rate_limit_error": "rate limited: Claude Code shares this limit; wait, or check the usage limits",
        }
        if kind in fixes:
            return fixes[kind]
        if outcome.http_status >= 500 or kind in ("overloaded_error", "api_error", "timeout_error"):
            return "the API itself is having trouble; nothing to fix here: see status.anthropic.com"
        if 200 <= outcome.http_status < 300:
            return "much slower than this machine's baseline: run again, and see `ccprompt history` for a trend"
        return "see `ccprompt probe --verbose` for the full answer"

    # -- ccprompt's own files ------------------------------------------------------------

    def state_dir(self) -> None:
        home = self.paths.state_dir
        try:
            info = os.stat(home)
        except FileNotFoundError:
            self.add("state_dir", "state dir", WARN, f"{home} does not exist yet",
                     "`ccprompt probe` creates it (mode 0700)", {"path": home})
            return
        mode = info.st_mode & 0o777
        data = {"path": home, "mode": f"{mode:04o}", "owner_uid": info.st_uid}
        if info.st_uid != os.getuid():
            self.add("state_dir", "state dir", FAIL, f"{home} belongs to uid {info.st_uid}, not to you",
                     f"chown -R {os.getuid()} {home}", data)
            return
        if mode & 0o022:
            self.add("state_dir", "state dir", FAIL, f"{home} has mode {mode:04o}: others can write ccprompt's "
                     "state and prompt cache", f"chmod 700 {home}", data)
            return
        if mode & 0o077:
            self.add("state_dir", "state dir", WARN, f"{home} has mode {mode:04o}: others can read it",
                     f"chmod 700 {home}", data)
            return
        loose = []
        for name in sorted(os.listdir(home)):
            path = os.path.join(home, name)
            try:
                if os.path.isfile(path) and os.stat(path).st_mode & 0o077:
                    loose.append(name)
            except OSError:
                continue
        if loose:
            self.add("state_dir", "state dir", WARN, f"{home} is 0700, but {', '.join(loose[:3])} "
                     f"{'is' if len(loose) == 1 else 'are'} readable by others", f"chmod 600 {home}/*", data)
            return
        self.add("state_dir", "state dir", OK, f"{home}, mode 0700", data=data)

    def state_freshness(self) -> None:
        from ccprompt.core import store
        from ccprompt.core.render import ICONS

        current = store.read_state(self.paths)
        if current is None:
            if os.path.exists(self.paths.state_file):
                self.add("state", "state", WARN, "monitoring.json is unreadable or from another version",
                         "`ccprompt probe` replaces it")
            else:
                self.add("state", "state", WARN, "no probe recorded yet",
                         "run `ccprompt probe`, or open Claude Code with the status line installed")
            return
        last_ms = current.windows.last_probe_epoch_ms
        status = current.status
        if not last_ms:
            self.add("state", "state", WARN, f"{status}, but no probe time recorded", "run `ccprompt probe`")
            return
        age = time.time() - last_ms / 1000
        interval = self.config["green_interval_s"]
        data = {"status": status, "age_s": round(age, 1), "last_probe_at": current.windows.last_probe_at}
        text = f"{ICONS[status]} {status}, last probe {_age(age)} ago"
        if age > 2 * interval:
            self.add("state", "state", WARN, text + " (the status line and prompt refresh it only while shown)",
                     "run `ccprompt watch` (or its systemd/launchd unit) to keep it fresh all the time", data)
        else:
            self.add("state", "state", OK, text, data=data)

    def watcher(self) -> None:
        from ccprompt.ops.watch.loop import running_pid

        pid = running_pid(self.paths)
        if pid is None:
            self.add("watch", "watch", OK, "not running (optional: `ccprompt watch` keeps the state fresh)",
                     data={"running": False})
        else:
            self.add("watch", "watch", OK, f"running (pid {pid or 'unknown'})", data={"running": True, "pid": pid})

    def statusline(self) -> None:
        import json

        from ccprompt.core.paths import executable_words
        from ccprompt.surfaces import claude_settings as settings

        path = self.paths.claude_settings
        fix = "ccprompt install statusline (keeps your other settings and backs up the file)"
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            self.add("statusline", "status line", WARN, f"not installed ({path} does not exist)", fix,
                     {"path": path})
            return
        except OSError as exc:
            self.add("statusline", "status line", FAIL, f"cannot read {path}: {exc.strerror}",
                     f"check the permissions of {path}", {"path": path})
            return
        try:
            loaded = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            self.add("statusline", "status line", FAIL, f"{path} is not valid JSON ({_clean(exc, 80)}), so "
                     "Claude Code ignores it", f"repair {path}", {"path": path})
            return
        entry = loaded.get("statusLine") if isinstance(loaded, dict) else None
        command = entry.get("command") if isinstance(entry, dict) else None
        data = {"path": path, "command": command}
        if not entry:
            self.add("statusline", "status line", WARN, f"not installed in {path}", fix, data)
            return
        if not settings.is_ours(entry):
            self.add("statusline", "status line", WARN, f"runs something else: {_clean(command, 100)}",
                     fix + "; or call `ccprompt statusline` from your own script", data)
            return
        mine = settings.command_line(executable_words())
        program = _first_word(command)
        if program and os.path.isabs(program) and not os.access(program, os.X_OK):
            self.add("statusline", "status line", FAIL, f"points at {_clean(program, 120)}, which is missing",
                     fix, data)
        elif command.strip() != mine and program not in executable_argv():
            self.add("statusline", "status line", WARN, f"runs another ccprompt: {_clean(command, 120)}",
                     fix + ", to point it at this one", data)
        else:
            self.add("statusline", "status line", OK, f"{path} runs {_clean(command, 120)}", data=data)

    def shell_rc(self) -> None:
        found, looked = [], []
        for path in _rc_files(self.env):
            looked.append(path)
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read(1 << 20)
            except OSError:
                continue
            if any(marker in text for marker in RC_MARKERS):
                found.append(path)
        home = self.env.get("HOME") or os.path.expanduser("~")
        short = [p.replace(home, "~", 1) if home and p.startswith(home) else p for p in (found or looked)]
        if found:
            self.add("shell", "shell", OK, f"init line in {', '.join(short)}", data={"files": found})
        else:
            self.add("shell", "shell", WARN, f"no init line in {', '.join(short)}",
                     "ccprompt install shell (or add eval \"$(ccprompt init zsh)\" to your rc file yourself)",
                     {"looked_in": looked})

    def clock(self) -> None:
        target = self.target
        if target is None or target.server_date is None:
            reached = self.tcp_ok and (self.tls_ok or target.scheme == "http")
            reason = "the server sent no Date header" if reached else "the server could not be reached"
            self.add("clock", "clock", WARN, f"skew unknown: {reason}", "make sure the clock is synced (NTP) "
                     "while the connection problems above are solved")
            return
        # Date has one-second resolution: the server's clock was somewhere in [date, date + 1).
        skew = target.server_date + 0.5 - target.date_local
        data = {"skew_s": round(skew, 2), "server_date": target.server_date}
        text = f"{skew:+.1f} s against the server's Date header (±1 s)"
        if abs(skew) > SKEW_FAIL_S:
            self.add("clock", "clock", FAIL, text + ": certificates and tokens may be judged expired", CLOCK_FIX,
                     data)
        elif abs(skew) > SKEW_WARN_S:
            self.add("clock", "clock", WARN, text + ": timestamps across machines will disagree", CLOCK_FIX, data)
        else:
            self.add("clock", "clock", OK, text, data=data)


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _count_certs(path):
    """How many PEM certificates a file holds; None when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read(16 << 20).count(b"-----BEGIN CERTIFICATE-----")
    except OSError:
        return None


def _read_head(sock, limit: int = 16384) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n\r\n", 1)[0]


def _age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def _first_word(command) -> str:
    import shlex

    try:
        words = shlex.split(str(command or ""))
    except ValueError:
        return ""
    return words[0] if words else ""


def _rc_files(env) -> list:
    try:
        from ccprompt.surfaces.shell.rcfile import rc_file

        files = [rc_file(shell, env) for shell in ("zsh", "bash", "fish")]
    except (ImportError, AttributeError):
        home = env.get("HOME") or os.path.expanduser("~")
        files = [os.path.join(home, ".zshrc"), os.path.join(home, ".bashrc"),
                 os.path.join(home, ".config", "fish", "config.fish")]
    home = env.get("HOME") or os.path.expanduser("~")
    for extra in (".bash_profile", ".zprofile"):
        path = os.path.join(home, extra)
        if path not in files:
            files.append(path)
    return files


def format_report(checks: list, color: bool = False) -> str:
    width = max(len(c.title) for c in checks)
    lines = []
    for check in checks:
        mark = MARKS[check.level]
        if color:
            mark = f"\x1b[{COLORS[check.level]}m{mark}\x1b[0m"
        lines.append(f"{mark} {check.title:<{width}}  {check.detail}")
        if check.fix and check.level != OK:
            lines.append(f"  {'':<{width}}  fix: {check.fix}")
    failures = sum(c.level == FAIL for c in checks)
    warnings = sum(c.level == WARN for c in checks)
    lines.append("")
    if failures:
        lines.append(f"{failures} problem{'s' if failures != 1 else ''}, {warnings} "
                     f"warning{'s' if warnings != 1 else ''}")
    else:
        lines.append("no problems" + (f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""))
    return "\n".join(lines)


def main(as_json: bool = False, env=None) -> int:
    """Run every check, print the report; exit 0 when nothing is ✗, 1 otherwise."""
    checks = Doctor(env).run()
    failed = any(c.level == FAIL for c in checks)
    if as_json:
        import json

        document = {"ok": not failed, "failures": sum(c.level == FAIL for c in checks),
                    "warnings": sum(c.level == WARN for c in checks), "checks": [asdict(c) for c in checks]}
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        from ccprompt.core.render import use_color

        sys.stdout.write(format_report(checks, use_color(os.environ) and sys.stdout.isatty()) + "\n")
    return 1 if failed else 0
