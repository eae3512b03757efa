"""The `probe --verbose` report: an httpstat-style phase waterfall, then the facts and the verdict."""

from __future__ import annotations

from ccprompt.core.render import ICONS
from ccprompt.core.text import PHASE_LABELS, sanitize

BAR_WIDTH = 32
NAMES = {"dns": "DNS lookup", "tcp": "TCP connect", "tls": "TLS handshake", "ttfb": "Server (TTFB)"}
KIND_NAMES = {"api_key": "API key", "auth_token": "auth token", "oauth_token": "OAuth token"}


def _ms(value) -> str:
    return "-" if value is None else f"{value:8.1f} ms"


def waterfall(outcome, color: bool = False) -> list:
    phases = outcome.phases_ms
    total = phases.get("total") or 0.0
    lines = []
    elapsed = 0.0
    for key, _ in PHASE_LABELS[:-1]:
        value = phases.get(key)
        name = NAMES[key]
        if value is None:
            if outcome.reused.get(key):
                shown = "   reuse"
            elif outcome.stalled_phase == key:
                shown = "  failed" if outcome.failure_phase != "timeout" else "timed out"
            else:
                continue  # after a failure (or TLS on http://): only the phases that ran are shown
            lines.append(f"  {name:<14} {shown:>11}  │{' ' * BAR_WIDTH}│")
            continue
        start = min(int(BAR_WIDTH * elapsed / total), BAR_WIDTH - 1) if total else 0
        elapsed += value
        cells = BAR_WIDTH * value / total if total else 0
        # A phase too short for a whole cell still gets a thin mark where it happened.
        bar = " " * start + ("█" * min(round(cells), BAR_WIDTH - start) if cells >= 0.5 else "▏")
        lines.append(f"  {name:<14} {_ms(value):>11}  │{bar:<{BAR_WIDTH}}│ {elapsed:8.1f} ms")
    lines.append(f"  {'Total':<14} {_ms(total):>11}")
    return lines


def _ratelimit(limits: dict) -> str:
    if not limits:
        return "-"
    parts = []
    headroom = None
    for name, values in sorted(limits.items()):
        remaining, limit = values.get("remaining"), values.get("limit")
        if remaining is None or not limit:
            continue
        parts.append(f"{sanitize(name, 40)} {remaining}/{limit}")
        share = remaining / limit
        headroom = share if headroom is None else min(headroom, share)
    if not parts:
        return "-"
    return ", ".join(parts) + f" (headroom {headroom:.0%})"


def report(outcome, state: dict, written: bool, login: str | None = None) -> str:
    """The whole verbose report as text; `login` says how Claude Code signs in when ccprompt has no key."""
    kind = KIND_NAMES.get(outcome.credential_kind, "")
    if outcome.credential_source == "none" and login:
        credential = f"none (anonymous probe): {login}"
    elif outcome.credential_source == "none":
        credential = "none (anonymous probe: auth not checked)"
    else:
        credential = f"{outcome.credential_source} ({kind})"
    http = "-" if not outcome.http_status else f"{outcome.http_status}" + (
        f" (HTTP/{outcome.http_version})" if outcome.http_version else ""
    )
    error = sanitize(outcome.error_type, 80) if outcome.error_type and outcome.error_type != "success" else "-"
    if outcome.failure_phase == "timeout":
        error += f" (timed out during {(outcome.stalled_phase or 'the request').upper()})"
    elif outcome.failure_phase:
        error += f" (failed during {outcome.failure_phase.upper()})"
    if outcome.curl_message:
        error += f": {sanitize(outcome.curl_message, 160)}"
    elif outcome.error_message:
        error += f": {sanitize(outcome.error_message, 160)}"
    samples = len(state.network.rolling_totals)
    p95 = state.network.p95_latency_ms
    facts = [
        ("endpoint", sanitize(outcome.endpoint, 200)),
        ("model", sanitize(outcome.model, 80)),
        ("credential", credential),
        ("http", http),
        ("remote ip", sanitize(outcome.remote_ip, 64) if outcome.remote_ip else "-"),
        ("proxy", sanitize(outcome.proxy, 200) if outcome.proxy else "none"),
        ("error type", error),
        ("request-id", sanitize(outcome.request_id, 80) if outcome.request_id else "-"),
        ("retry-after", sanitize(outcome.retry_after, 40) if outcome.retry_after else "-"),
        ("rate limit", _ratelimit(outcome.ratelimit)),
        ("baseline", f"P95 {p95:.0f} ms over {samples} samples" if p95 else f"{samples} samples (P95 after 4)"),
        ("timeout", f"{outcome.timeout_ms} ms"),
        ("state", "recorded" if written else "not recorded (--no-write)"),
    ]
    lines = [f"POST {sanitize(outcome.endpoint, 200)}", ""]
    lines += waterfall(outcome)
    lines.append("")
    lines += [f"  {label:<12} {value}" for label, value in facts]
    lines.append("")
    lines.append(f"  {'verdict':<12} {ICONS.get(outcome.status, ICONS['unknown'])} {outcome.status}: {sanitize(outcome.reason, 200)}")
    return "\n".join(lines)
