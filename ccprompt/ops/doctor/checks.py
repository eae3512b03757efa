"""Doctor's checks, from the install to the clock, each declared with its stable id and title.

Each check reads the shared `Context` (the config, the credential, the traced network
path) and returns a `Finding`; none of them changes what another one sees. The network
checks read `context.path`, traced once by `netpath`. Doctor records nothing: its probe
is not written to the state or the history, so a diagnosis never disturbs the baseline.
"""

from __future__ import annotations

import os
import sys
import time

from ccprompt import __version__
from ccprompt.core.text import redact_url
from ccprompt.core.text import sanitize as _clean
from ccprompt.ops.doctor import fixes
from ccprompt.ops.doctor.netpath import FAILED, SKIPPED, count_certs
from ccprompt.ops.doctor.registry import OK, WARN, Registry, budget_text, fail, ok, warn

OFFICIAL_HOST = "api.anthropic.com"
EXPIRY_WARN_DAYS = 14
SKEW_WARN_S = 10
SKEW_FAIL_S = 300
KIND_NAMES = {"api_key": "API key", "auth_token": "auth token", "oauth_token": "OAuth token"}
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
              "NO_PROXY", "no_proxy")

registry = Registry()
check = registry.check


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# -- the install itself ---------------------------------------------------------------

@check("versions", "ccprompt")
def versions(ctx):
    from ccprompt.core.paths import executable_words

    argv = executable_words(env=ctx.env)
    data = {"ccprompt": __version__, "python": sys.version.split()[0], "executable": argv,
            "python_executable": sys.executable}
    try:
        import pycurl
    except ImportError as exc:
        return fail(f"{__version__} on Python {data['python']}, but pycurl is missing ({_clean(exc, 160)})",
                    fixes.PYCURL_MISSING, data)
    data["libcurl"] = pycurl.version_info()[1]
    return ok(f"{__version__} on Python {data['python']}, libcurl {data['libcurl']} ({' '.join(argv)})", data)


@check("config", "config")
def configuration(ctx):
    config, path = ctx.config, ctx.paths.config_file
    if config.problems:
        return fail(_clean(config.first_problem(), 200), fixes.config_invalid(path),
                    {"path": path, "problems": [p.line() for p in config.problems]})
    if config.unknown:
        return warn(_clean(config.warnings()[0], 200), fixes.config_unknown(path),
                    {"path": path, "unknown": config.unknown})
    where = path if os.path.exists(path) else f"{path} (absent: defaults)"
    if not config.get("monitoring_enabled", True):
        return warn(f"{where}: monitoring_enabled = false, nothing is probed", fixes.monitoring_off(path),
                    {"path": path})
    return ok(f"{where}; probe model {_clean(config.get('probe_model'), 60)}",
              {"path": path, "probe_model": config.get("probe_model"), "anonymous": config.get("anonymous")})


@check("credential", "credential")
def credential(ctx):
    found = ctx.credential
    data = {k: v for k, v in found.describe().items() if k in ("source", "kind", "variable", "token_length")}
    if found.problem:
        return fail(f"refused: {_clean(found.problem, 160)}", "correct it where it is set, then run doctor again",
                    data)
    if found.present:
        return ok(f"{KIND_NAMES.get(found.kind, found.kind)} {found.variable} from {found.source}, "
                  f"{found.token_length} characters", data)
    login = ctx.login
    if login:
        data["login"] = login.kind
    if ctx.config.get("anonymous", True):
        if login:
            # Claude Code signs in without a key ccprompt may use: nothing to fix.
            return ok(f"{login.line()} ({_clean(login.where, 160)}; the probe is anonymous)", data)
        return warn("none found; probing anonymously (a 401 from the API still proves the path works)",
                    fixes.CREDENTIAL_ANONYMOUS, data)
    if login:
        return fail(f"{login.line()}; but anonymous = false: nothing can be probed", fixes.CREDENTIAL_LOGIN, data)
    return fail("none found, and anonymous = false: nothing can be probed", fixes.CREDENTIAL_REQUIRED, data)


@check("base_url", "base URL")
def base_url(ctx):
    url, source = ctx.credential.base_url, ctx.credential.base_url_source
    shown = _clean(redact_url(url), 200)
    target = ctx.target
    if target is None:
        what = "a valid URL" if ctx.target_problem == "invalid" else "an http(s) URL"
        return fail(f"{shown} ({source}) is not {what}", fixes.BASE_URL_BAD)
    official = target.scheme == "https" and target.host == OFFICIAL_HOST
    data = {"url": redact_url(url), "source": source, "official": official}
    if official:
        return ok(f"{shown} ({source}): the official API", data)
    if target.scheme == "http" and not _loopback(target.host):
        return warn(f"{shown} ({source}): plain http, the credential travels unencrypted",
                    fixes.BASE_URL_PLAIN_HTTP, data)
    return ok(f"{shown} ({source}): not the official API (a gateway or proxy); results describe that endpoint",
              data)


# -- the network path -----------------------------------------------------------------

@check("dns", "DNS")
def dns(ctx):
    path = ctx.path
    if path is None:
        return warn("skipped: no usable base URL", fixes.NEEDS_BASE_URL)
    step, target = path.dns, path.target
    host = _clean(target.host, 100)
    if step.state == SKIPPED:
        return _skipped(ctx, step, "", "skipped")
    data = {"host": target.host, "seconds": round(step.seconds, 4)}
    if step.state == FAILED:
        data["error"] = step.error
        if target.proxy:
            return warn(f"{host} does not resolve here ({step.error}), but requests go through the proxy, "
                        "which resolves it", fixes.DNS_THROUGH_PROXY, data)
        return fail(f"cannot resolve {host}: {step.error} (after {_ms(step.seconds)})",
                    fixes.dns(target.host, ctx.credential.base_url_source), data)
    addresses = list(step.addresses)
    shown = ", ".join(addresses[:4]) + (f" and {len(addresses) - 4} more" if len(addresses) > 4 else "")
    return ok(f"{host} -> {shown} in {_ms(step.seconds)}", {**data, "addresses": addresses})


@check("proxy", "proxy")
def proxy(ctx):
    present = {name: ctx.env[name] for name in PROXY_VARS if ctx.env.get(name)}
    shown = {name: (value if "no_proxy" in name.lower() else redact_url(value)) for name, value in present.items()}
    target = ctx.target
    data = {"variables": shown, "in_effect": redact_url(target.proxy) if target else None}
    if not present:
        return ok("no proxy variables set: direct connection", data)
    listing = ", ".join(f"{name}={_clean(value, 80)}" for name, value in shown.items())
    if target and target.proxy:
        if "://" in target.proxy and not target.proxy.lower().startswith(("http://", "https://", "socks")):
            return fail(f"{listing}: unsupported proxy scheme", fixes.PROXY_SCHEME, data)
        return ok(f"{listing}; {_clean(target.host, 80)} goes through {_clean(redact_url(target.proxy), 120)}", data)
    return ok(f"{listing}; {_clean(target.host if target else '?', 80)} is reached directly", data)


@check("ca", "CA bundle")
def ca_bundle(ctx):
    from ccprompt.sources.probe import ca_settings

    ca = ca_settings(ctx.env)
    variable = ca["variable"]
    data = {"bundle": ca["bundle"], "variable": variable, "default_bundle": ca["default_bundle"],
            "node_extra_ca_certs": ca["extra"]}
    problems = []
    base = ca["bundle"] or ca["default_bundle"]
    count = count_certs(base) if base else None
    if ca["bundle"] and count is None:
        problems.append((f"{variable}={_clean(ca['bundle'], 120)} is not a readable file", fixes.ca_unreadable(variable)))
    if ca["extra"]:
        extra_count = count_certs(ca["extra"])
        data["node_extra_count"] = extra_count
        if not extra_count:
            problems.append((f"NODE_EXTRA_CA_CERTS={_clean(ca['extra'], 120)} is missing or holds no certificate",
                             fixes.CA_EXTRA_EMPTY))
        extra = f"; NODE_EXTRA_CA_CERTS adds {extra_count or 0} from {_clean(ca['extra'], 120)}"
    else:
        extra = "; NODE_EXTRA_CA_CERTS not set"
    if problems:
        detail, fix = problems[0]
        return fail(detail + ("" if len(problems) == 1 else f"; {problems[1][0]}"), fix, data)
    plural = "" if count == 1 else "s"
    if ca["bundle"]:
        where = f"{_clean(ca['bundle'], 120)} ({variable}), {count} certificate{plural}"
    elif base:
        where = f"{base} (system default), {count} certificate{plural}"
    else:
        where = "libcurl's built-in default"
    return ok(where + extra, data)


def _skipped(ctx, step, after: str, detail: str):
    """The line for a step that did not run: out of budget, behind a broken step, or not spoken here."""
    if step.why == "budget":
        return fail(budget_text(ctx.deadline), fixes.BUDGET)
    if step.why == "proxy-scheme":
        scheme = _clean(ctx.target.proxy_scheme, 20)
        return warn(f"skipped: the TCP/TLS check cannot go through a {scheme}:// proxy", fixes.LEFT_TO_PROBE)
    return warn(detail, after)


@check("tcp", "TCP")
def tcp(ctx):
    path = ctx.path
    if path is None:
        return warn("skipped: the host did not resolve", fixes.AFTER_DNS)
    step, target = path.tcp, path.target
    if step.state == SKIPPED:
        return _skipped(ctx, step, fixes.AFTER_DNS, "skipped: the host did not resolve")
    host = _clean(target.host, 100)
    if step.state == FAILED:
        where = f"{host}:{target.port}" + (" through the proxy" if target.proxy else "")
        return fail(f"cannot connect to {where}: {step.error} (after {_ms(step.seconds)})",
                    fixes.tcp(step.why, where, bool(target.proxy)), {"seconds": round(step.seconds, 4), "error": step.error})
    data = {"seconds": round(step.seconds, 4), "peer": step.peer, "via_proxy": bool(step.via)}
    if step.via:
        return ok(f"connected to the proxy {_clean(step.via, 100)} in {_ms(step.seconds)}, tunnel to "
                  f"{host}:{target.port}", data)
    return ok(f"connected to {step.peer} in {_ms(step.seconds)}", data)


@check("tls", "TLS")
def tls(ctx):
    path = ctx.path
    if path is None:
        return warn("skipped: no connection", fixes.AFTER_DNS)
    step, target = path.tls, path.target
    if step.why == "http":
        return ok("none: the base URL is plain http", {"scheme": "http"})
    if step.state == SKIPPED:
        after = fixes.AFTER_DNS if path.tcp.state == SKIPPED else fixes.AFTER_TCP
        return _skipped(ctx, step, after, "skipped: no connection")
    host = _clean(target.host, 100)
    if step.state == FAILED:
        data = {"error": step.error, "seconds": round(step.seconds, 4)}
        if step.verify_code is not None:
            data["verify_code"] = step.verify_code
            return fail(f"certificate of {host} not trusted: {step.error}", fixes.tls(step.why, target.host), data)
        return fail(f"handshake with {host} failed: {step.error}", fixes.tls(step.why, target.host), data)
    data = {"seconds": round(step.seconds, 4), "version": step.version, "cipher": step.cipher}
    level, fix, expiry_text = OK, "", ""
    if step.expires is not None:
        days = (step.expires - time.time()) / 86400
        data.update(expires=time.strftime("%Y-%m-%d", time.gmtime(step.expires)), days_left=round(days, 1))
        expiry_text = f", certificate valid until {data['expires']} ({days:.0f} days)"
        if days < EXPIRY_WARN_DAYS:
            level, fix = WARN, fixes.TLS_EXPIRING
    if step.issuer:
        data["issuer"] = step.issuer
        expiry_text += f", issued by {_clean(step.issuer, 60)}"
    detail = f"{step.version} in {_ms(step.seconds)}{expiry_text}"
    return ok(detail, data) if level == OK else warn(detail, fix, data)


# -- the verdict ----------------------------------------------------------------------

@check("probe", "probe", network=True)
def probe(ctx):
    from ccprompt.core.render import ICONS
    from ccprompt.sources import recorder

    # The probe's own timeout, cut to what is left of doctor's budget.
    left_ms = int(ctx.deadline.remaining() * 1000)
    override = left_ms if left_ms < (ctx.config.timeout_ms or 6000) else None
    outcome, state = recorder.probe_and_record(ctx.paths, ctx.config, "MANUAL", write=False,
                                               timeout_override=max(override, 1) if override is not None else None)
    if outcome is None:
        reason = _clean(state.reason, 80)
        if reason == "monitoring off":
            return warn("not run: monitoring is off", fixes.PROBE_MONITORING_OFF)
        if ctx.credential.problem:
            return fail(f"not run: {reason}", "see the credential line above")
        return fail(f"not run: {reason} (no credential, anonymous = false)", fixes.PROBE_NO_CREDENTIAL)
    status = outcome.status
    if outcome.http_status:
        http = f"HTTP {outcome.http_status}" + (f" (HTTP/{outcome.http_version})" if outcome.http_version else "")
    else:
        http = "no HTTP answer"
    detail = f"{ICONS.get(status, ICONS['unknown'])} {status}: {http}, {state.breakdown()}"
    if status != "healthy" or outcome.anonymous:
        detail += f"; {_clean(redact_url(outcome.reason), 120)}"
    if outcome.anonymous and outcome.http_status == 401:
        detail += " (anonymous: auth not checked)"
    data = {"status": status, "http_status": outcome.http_status, "error_type": outcome.error_type,
            "failure_phase": outcome.failure_phase, "phases_ms": outcome.phases_ms,
            "request_id": outcome.request_id, "recorded": False}
    detail += " (not recorded)"
    if status == "healthy":
        return ok(detail, data)
    failed_step = ctx.path.failed_step() if ctx.path is not None else None
    fix = fixes.probe(outcome, ctx.credential, failed_step)
    return warn(detail, fix, data) if status == "degraded" else fail(detail, fix, data)


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
