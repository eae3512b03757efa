"""The fix table: every one-line fix doctor prints, in one place, chosen by what broke and where."""

from __future__ import annotations

import os

from ccprompt.core.text import sanitize

BUDGET = "the network is too slow to finish every check in time; `ccprompt probe --verbose` shows where the time goes"
CRASHED = "please report this with `ccprompt doctor --json`"
PYCURL_MISSING = "reinstall: ./install.sh, or `pip install pycurl` in ccprompt's environment"
CREDENTIAL = ("export ANTHROPIC_API_KEY=... (or ANTHROPIC_AUTH_TOKEN / CLAUDE_CODE_OAUTH_TOKEN) in your "
              "shell rc or the env object of ~/.claude/settings.json")
CREDENTIAL_ANONYMOUS = CREDENTIAL + ", if you want the credential itself checked"
CREDENTIAL_REQUIRED = CREDENTIAL + "; or set anonymous = true in the config"
CREDENTIAL_LOGIN = "set anonymous = true in the config (ccprompt never uses Claude Code's own sign-in)"
BASE_URL_BAD = "set ANTHROPIC_BASE_URL to a URL like https://api.anthropic.com, or unset it"
BASE_URL_PLAIN_HTTP = "use an https:// URL for ANTHROPIC_BASE_URL"
NEEDS_BASE_URL = "correct the base URL first"
DNS_THROUGH_PROXY = "nothing to do unless the proxy fails too"
PROXY_SCHEME = "use an http:// proxy URL in HTTPS_PROXY"
AFTER_DNS = "resolve the DNS problem above first"
AFTER_TCP = "resolve the TCP problem above first"
LEFT_TO_PROBE = "rely on the probe line below for this path"
TCP_REFUSED = "nothing listens there: check the port in ANTHROPIC_BASE_URL, or whether a firewall rejects it"
TCP_PROXY = "check HTTPS_PROXY (address, port, credentials) and that the proxy is running"
TLS_EXPIRED = "the server's certificate has expired; if the clock is right, whoever runs the endpoint must renew it"
TLS_UNTRUSTED = ("if a company proxy or antivirus inspects TLS, add its CA: export NODE_EXTRA_CA_CERTS="
                 "/path/to/ca.pem (Claude Code and ccprompt both read it)")
TLS_HANDSHAKE = ("something on the path is not speaking TLS (a captive portal, or a proxy that needs "
                 "HTTPS_PROXY); check that the URL's port serves https")
TLS_EXPIRING = "the certificate expires soon; whoever runs the endpoint should renew it"
PROBE_MONITORING_OFF = "set monitoring_enabled = true"
PROBE_NO_CREDENTIAL = "set a credential (see the credential line), or anonymous = true"
STATE_RUN_PROBE = "run `ccprompt probe`, or open Claude Code with the status line installed"
STATE_REPLACE = "`ccprompt probe` replaces it"
STATE_STALE = "run `ccprompt watch` (or its systemd/launchd unit) to keep it fresh all the time"
STATE_DIR_MISSING = "`ccprompt probe` creates it (mode 0700)"
STATUSLINE_INSTALL = "ccprompt install statusline (keeps your other settings and backs up the file)"
CLOCK = ("sync the clock: `sudo timedatectl set-ntp true` (Linux) or System Settings > General > "
         "Date & Time > Set automatically (macOS)")
CLOCK_UNKNOWN = "make sure the clock is synced (NTP) while the connection problems above are solved"
INIT_LINES = {
    "bash": ('eval "$(ccprompt init bash)"', "~/.bashrc"),
    "zsh": ('eval "$(ccprompt init zsh)"', "~/.zshrc"),
    "fish": ("ccprompt init fish | source", "~/.config/fish/config.fish"),
}


def config_invalid(path: str) -> str:
    return f"fix or remove it in {path}; defaults apply meanwhile"


def config_unknown(path: str) -> str:
    return f"remove or correct it in {path}"


def monitoring_off(path: str) -> str:
    return f"set monitoring_enabled = true in {path}"


def dns(host: str, base_url_source: str) -> str:
    return (f"check the host in ANTHROPIC_BASE_URL ({base_url_source}), then your DNS resolver, VPN or "
            f"/etc/hosts (`getent hosts {sanitize(host, 100)}`)")


def tcp(why: str, where: str, through_proxy: bool) -> str:
    if why == "refused":
        return TCP_REFUSED
    if through_proxy:
        return TCP_PROXY
    return f"a firewall, VPN or captive portal is blocking {where}; if your network needs a proxy, set HTTPS_PROXY"


def tls(why: str, host: str) -> str:
    if why == "hostname":
        return f"the certificate is for another name: check the host in ANTHROPIC_BASE_URL ({sanitize(host, 100)})"
    if why == "expired":
        return TLS_EXPIRED
    if why == "untrusted":
        return TLS_UNTRUSTED
    return TLS_HANDSHAKE


def ca_unreadable(variable: str) -> str:
    return f"point {variable} at an existing PEM bundle, or unset it"


CA_EXTRA_EMPTY = "point NODE_EXTRA_CA_CERTS at a PEM file with your CA, or unset it"

PROBE_BY_PHASE = {
    "DNS": "the host did not resolve for libcurl: check /etc/hosts, the resolver and the proxy settings",
    "TCP": "libcurl could not connect: check the proxy settings and any firewall",
    "TLS": "libcurl rejected the TLS connection: check SSL_CERT_FILE, CURL_CA_BUNDLE and the proxy",
}


def probe(outcome, credential, failed_step: str | None) -> str:
    """The fix for a probe that was not healthy, by the phase it broke in, else by the API's error type.

    `failed_step` is the DNS/TCP/TLS step doctor's own checks saw fail, if any: the probe
    and those checks can name different steps (a refused proxy tunnel is a TLS failure to
    libcurl), so the fix points at the line that actually failed.
    """
    kind = outcome.error_type
    model = sanitize(outcome.model, 60)
    if outcome.failure_phase == "timeout":
        return (f"no answer within {outcome.timeout_ms} ms: see the lines above; on a slow link raise "
                "CCPROMPT_TIMEOUT_MS (up to 6000)")
    if outcome.failure_phase in ("dns", "tcp", "tls"):
        phase = outcome.failure_phase.upper()
        if failed_step:
            return f"the {phase} step failed: see the {failed_step} line above"
        return PROBE_BY_PHASE[phase]
    if outcome.failure_phase:
        return "the connection broke before an answer: run again, and check the proxy if one is in effect"
    by_type = {
        "authentication_error": f"the API rejected the credential from {credential.source} "
                                f"({credential.variable}): replace it with a valid one",
        "permission_error": f"the credential may not use {model}: set probe_model in the config "
                            "(or CCPROMPT_PROBE_MODEL) to a model it can use",
        "not_found_error": f"not found: check that ANTHROPIC_BASE_URL has no /v1 suffix and that {model} exists",
        "invalid_request_error": f"the API refused the probe request: set probe_model to a current model "
                                 f"(now {model})",
        "billing_error": "the account has a billing problem: see console.anthropic.com, Billing",
        "rate_limit_error": "rate limited: Claude Code shares this limit; wait, or check the usage limits",
    }
    if kind in by_type:
        return by_type[kind]
    if outcome.http_status >= 500 or kind in ("overloaded_error", "api_error", "timeout_error"):
        return "the API itself is having trouble; nothing to fix here: see status.anthropic.com"
    if 200 <= outcome.http_status < 300:
        return "much slower than this machine's baseline: run again, and see `ccprompt history` for a trend"
    return "see `ccprompt probe --verbose` for the full answer"


def state_dir_owner(path: str) -> str:
    return f"chown -R {os.getuid()} {path}"


def state_dir_mode(path: str) -> str:
    return f"chmod 700 {path}"


def state_files_mode(path: str) -> str:
    return f"chmod 600 {path}/*"


def user_shell(env) -> str | None:
    """bash, zsh or fish from $SHELL; None for any other shell or none."""
    name = os.path.basename((env.get("SHELL") or "").strip())
    return name if name in INIT_LINES else None


def shell(env) -> str:
    """How to add the init line, in the words of the user's own shell ($SHELL)."""
    name = user_shell(env)
    if name is None:
        listing = "; ".join(f"{line} for {shell}" for shell, (line, _) in INIT_LINES.items())
        return f"ccprompt install shell (or add the init line to your rc file yourself: {listing})"
    line, rc = INIT_LINES[name]
    return f"ccprompt install shell (or add {line} to {rc} yourself)"
