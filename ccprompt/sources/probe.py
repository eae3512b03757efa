"""The prober: one tiny `POST /v1/messages` through libcurl, timed phase by phase."""

from __future__ import annotations

import os
import time

from ccprompt import __version__
from ccprompt.core.model import PHASES, Outcome
from ccprompt.core.signal import error_type_of
from ccprompt.core.text import redact_secrets, redact_url
from ccprompt.sources.credentials import Credential

USER_AGENT = f"ccprompt/{__version__}"
BODY_LIMIT = 64 * 1024
SYSTEM_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/usr/local/etc/openssl/cert.pem",
)

# libcurl error codes that tell which phase failed even when the timers cannot.
CURLE_COULDNT_RESOLVE_PROXY = 5
CURLE_COULDNT_RESOLVE_HOST = 6
CURLE_COULDNT_CONNECT = 7
CURLE_OPERATION_TIMEDOUT = 28


def error_type_for(http_status: int, body_type) -> str | None:
    """The body's `error.type` wins; otherwise the status decides."""
    if isinstance(body_type, str) and body_type:
        return body_type
    if 200 <= http_status < 300:
        return "success"
    if http_status == 0:
        return "connection_error"
    if 400 <= http_status < 600:
        return error_type_of(http_status)
    return None


def phases_from_timers(t: dict, succeeded: bool, https: bool, curl_error=None):
    """Turn libcurl's cumulative timers (µs) into per-phase durations (ms).

    Returns (phases_ms, reused, failure_phase). On failure only the chain
    namelookup -> connect -> appconnect is trusted, up to its first zero: the phase after
    it is the one that failed. pretransfer/starttransfer hold elapsed time then, so TTFB
    is not read.
    """
    ms = {k: v / 1000.0 for k, v in t.items()}
    phases = dict.fromkeys(PHASES)
    reused = {}
    phases["total"] = ms["total"]
    if succeeded:
        if t["namelookup"] == 0 and t["connect"] == 0:
            reused.update(dns=True, tcp=True, tls=https)
        else:
            phases["dns"] = ms["namelookup"]
            phases["tcp"] = max(ms["connect"] - ms["namelookup"], 0.0)
        if https and t["appconnect"] > 0:
            phases["tls"] = max(ms["appconnect"] - ms["connect"], 0.0)
        phases["ttfb"] = max(ms["starttransfer"] - ms["pretransfer"], 0.0)
        return phases, reused, None

    chain = [("dns", "namelookup"), ("tcp", "connect")]
    if https:
        chain.append(("tls", "appconnect"))
    failed = "ttfb"
    previous = 0.0
    for phase, timer in chain:
        if t[timer] <= 0:
            failed = phase
            break
        phases[phase] = max(ms[timer] - previous, 0.0)
        previous = ms[timer]
    # A resolver error is a DNS failure even if libcurl stamped a namelookup time.
    if curl_error in (CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY):
        phases.update(dns=None, tcp=None, tls=None)
        failed = "dns"
    elif curl_error == CURLE_COULDNT_CONNECT and failed == "ttfb":
        failed = "tcp"
    return phases, reused, failed


def proxy_for(url: str, env) -> tuple[str, str]:
    """(proxy URL or "", NO_PROXY value) the way Claude Code reads them.

    Claude Code takes HTTPS_PROXY before HTTP_PROXY whatever the base URL's scheme, so an
    http:// gateway is reached through HTTPS_PROXY too.
    """
    names = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY")
    proxy = next((env[n] for n in names if env.get(n)), "")
    no_proxy = env.get("no_proxy") or env.get("NO_PROXY") or ""
    return proxy.strip(), no_proxy.strip()


def ca_settings(env) -> dict:
    """Which CA certificates to trust: a replacement bundle and/or extra certificates.

    SSL_CERT_FILE and CURL_CA_BUNDLE replace the default bundle; NODE_EXTRA_CA_CERTS adds
    to whichever bundle is in force, as it does for Claude Code.
    """
    variable = next((name for name in ("SSL_CERT_FILE", "CURL_CA_BUNDLE") if env.get(name)), None)
    bundle = env[variable] if variable else None
    extra = env.get("NODE_EXTRA_CA_CERTS") or None
    default = next((p for p in SYSTEM_CA_BUNDLES if os.path.isfile(p)), None)
    return {"bundle": bundle, "variable": variable, "extra": extra, "default_bundle": default}


def _apply_ca(curl, pycurl, ca: dict) -> None:
    base = ca["bundle"]
    if ca["extra"]:
        pem = b""
        for path in (base or ca["default_bundle"], ca["extra"]):
            if path:
                try:
                    with open(path, "rb") as handle:
                        pem += handle.read() + b"\n"
                except OSError:
                    pass
        curl.setopt(pycurl.CAINFO_BLOB, pem)
    elif base:
        curl.setopt(pycurl.CAINFO, base)


def request_body(model: str) -> bytes:
    import json

    message = {"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}
    return json.dumps(message).encode()


def _parse_ratelimit(headers: dict) -> dict:
    limits: dict = {}
    prefix = "anthropic-ratelimit-"
    for name, value in headers.items():
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix):]
        for suffix in ("-remaining", "-limit"):
            if rest.endswith(suffix):
                try:
                    number = int(value)
                except ValueError:
                    break
                limits.setdefault(rest[: -len(suffix)], {})[suffix[1:]] = number
    return limits


def _body_error(body: bytes):
    if not body:
        return None, None
    from ccprompt.core import fastjson

    try:
        parsed = fastjson.loads(body)
    except ValueError:
        return None, None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        return None, None
    message = error.get("message")
    return error.get("type"), (message[:200] if isinstance(message, str) else None)


_HTTP_VERSIONS = {1: "1.0", 2: "1.1", 3: "2", 4: "2", 30: "3"}


def run(credential: Credential, *, model: str, timeout_ms: int, mode: str = "MANUAL", env=None,
        connect_only: bool = False) -> Outcome:
    """Send the probe and return what happened. Never raises for network trouble.

    `connect_only` (a PATH check) goes as far as DNS, TCP and TLS (through the proxy, as the
    probe would) and sends nothing: no request, no header, no credential.
    """
    import pycurl

    env = os.environ if env is None else env
    endpoint = credential.endpoint
    secrets = credential.secrets()
    https = endpoint.lower().startswith("https://")
    proxy, no_proxy = proxy_for(endpoint, env)
    secrets += _userinfo_secrets(proxy) + _userinfo_secrets(endpoint)
    outcome = Outcome(
        endpoint=redact_url(endpoint),
        credential_source=credential.source,
        credential_kind=credential.kind,
        model=model,
        timeout_ms=timeout_ms,
        mode=mode,
        started_at=time.time(),
        proxy=redact_url(proxy) or None,
        auth="checked" if credential.present and not connect_only else "not checked",
    )
    body = bytearray()
    headers: dict = {}

    def on_body(chunk: bytes):
        if len(body) < BODY_LIMIT:
            body.extend(chunk[: BODY_LIMIT - len(body)])

    def on_header(line: bytes):
        text = line.decode("iso-8859-1").strip()
        if text.upper().startswith("HTTP/"):
            headers.clear()  # a proxy's CONNECT reply comes first; keep the API's own
        elif ":" in text and len(headers) < 200:
            name, _, value = text.partition(":")
            headers[name.strip().lower()] = value.strip()

    curl = pycurl.Curl()
    try:
        curl.setopt(pycurl.URL, endpoint)
        if connect_only:
            curl.setopt(pycurl.CONNECT_ONLY, 1)
        curl.setopt(pycurl.POST, 1)
        curl.setopt(pycurl.POSTFIELDS, request_body(model))
        curl.setopt(
            pycurl.HTTPHEADER,
            [
                "content-type: application/json",
                "anthropic-version: 2023-06-01",
                "Expect:",
                *([] if connect_only else credential.auth_headers()),
            ],
        )
        # USERAGENT (not a header line) so a proxy's CONNECT carries it too.
        curl.setopt(pycurl.USERAGENT, USER_AGENT)
        curl.setopt(pycurl.WRITEFUNCTION, on_body)
        curl.setopt(pycurl.HEADERFUNCTION, on_header)
        curl.setopt(pycurl.TIMEOUT_MS, int(timeout_ms))
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(timeout_ms))
        curl.setopt(pycurl.NOSIGNAL, 1)
        curl.setopt(pycurl.FOLLOWLOCATION, 0)
        curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2TLS)
        curl.setopt(pycurl.PROXY, proxy)  # "" also stops libcurl reading proxy variables itself
        if no_proxy:
            curl.setopt(pycurl.NOPROXY, no_proxy)
        _apply_ca(curl, pycurl, ca_settings(env))
        succeeded = True
        try:
            curl.perform()
        except pycurl.error as exc:
            succeeded = False
            outcome.curl_error = exc.args[0]
            if len(exc.args) > 1:
                outcome.curl_message = redact_secrets(redact_url(str(exc.args[1])), secrets)[:300]
        timers = {
            "namelookup": curl.getinfo(pycurl.NAMELOOKUP_TIME_T),
            "connect": curl.getinfo(pycurl.CONNECT_TIME_T),
            "appconnect": curl.getinfo(pycurl.APPCONNECT_TIME_T),
            "pretransfer": curl.getinfo(pycurl.PRETRANSFER_TIME_T),
            "starttransfer": curl.getinfo(pycurl.STARTTRANSFER_TIME_T),
            "total": curl.getinfo(pycurl.TOTAL_TIME_T),
        }
        http_status = curl.getinfo(pycurl.RESPONSE_CODE) if succeeded else 0
        outcome.remote_ip = curl.getinfo(pycurl.PRIMARY_IP) or None
        if succeeded:
            outcome.http_version = _HTTP_VERSIONS.get(curl.getinfo(pycurl.INFO_HTTP_VERSION))
    finally:
        curl.close()

    outcome.http_status = http_status
    outcome.phases_ms, outcome.reused, failed = phases_from_timers(
        timers, succeeded, https, outcome.curl_error
    )
    if not succeeded:
        outcome.stalled_phase = failed
        outcome.failure_phase = "timeout" if outcome.curl_error == CURLE_OPERATION_TIMEDOUT else failed
    body_type, outcome.error_message = _body_error(bytes(body)) if http_status >= 300 else (None, None)
    outcome.error_type = error_type_for(http_status, body_type)
    outcome.request_id = headers.get("request-id") or headers.get("x-request-id")
    outcome.retry_after = headers.get("retry-after")
    outcome.ratelimit = _parse_ratelimit(headers)
    return outcome


def _userinfo_secrets(url: str) -> list:
    """The user and password in a URL's userinfo, raw and percent-decoded, for redaction."""
    if not url or "@" not in url:
        return []
    authority = url.partition("://")[2].partition("/")[0]
    if "@" not in authority:
        return []
    from urllib.parse import unquote

    userinfo = authority.rsplit("@", 1)[0]
    user, _, password = userinfo.partition(":")
    found = [userinfo]
    for part in (user, password):
        if part:
            found += [part, unquote(part)]
    return found
