"""What the line should say right now: the probe, the proxy's real requests and the session, combined.

Pure: it takes the state, a transcript scan and the clock. The newest evidence wins:
- a real request through the proxy that is newer than the last probe;
- a successful reply in the session that is newer than every failure, which proves the
  API answers (recovery shows at once, before any probe confirms it);
- otherwise the last probe.
A turn waiting on the API longer than `waiting_s` adds a marker (`⏳ 45s`), not a colour:
the probe that the wait triggers decides the colour.

Claude Code's own attempts (one `api-request` line each, from 2.1.332 on) are evidence too:
a waiting turn on its second attempt or later means Claude Code is retrying, so the line
is red whatever the last probe said: with the probe's cause when it failed too
(`529 overloaded · attempt 4`), else `Claude Code is retrying · attempt 4 · 38s`, noting
that the network is fine when the probe got through (`network ok, API side`).

An anonymous probe (no key: a 401 from the API's edge) proves the path, never a model.
It never vouches for a waiting turn or for the session's unresolved error: a turn waiting
with no attempt count shows as the wait alone (`⏳ 45s`, source `turn`), and an error
Claude Code gave up on as what is known (`last turn 529 overloaded`, yellow, `network ok`).
"""

from ccprompt.core.model import MonitorState, Record, TranscriptScan, _slots

# The one status table: the API's error type for a status without a body that names one (the
# probe, the proxy's analysis), and the words the line uses for it. None: no type of its own.
HTTP_STATUSES = {
    400: ("invalid_request_error", "400 bad request"),
    401: ("authentication_error", "401 invalid key"),
    402: ("billing_error", "402 billing problem"),
    403: ("permission_error", "403 not allowed"),
    404: ("not_found_error", "404 not found"),
    413: ("request_too_large", "413 request too large"),
    429: ("rate_limit_error", "429 rate limited"),
    500: ("api_error", "500 server error"),
    502: (None, "502 bad gateway"),
    503: (None, "503 unavailable"),
    504: ("timeout_error", "504 gateway timeout"),
    529: ("overloaded_error", "529 overloaded"),
}
HTTP_CAUSES = {status: words for status, (_, words) in HTTP_STATUSES.items()}


def error_type_of(status) -> str:
    """The error type a failing status stands for: the table's, else server_error or client_error."""
    known = HTTP_STATUSES.get(status)
    if known is not None and known[0] is not None:
        return known[0]
    return "server_error" if (status or 0) >= 500 else "client_error"
# The verdict's reason when a probe answered but the session's API error was still unresolved:
# the one complaint a later reply in the session settles. The same words as
# `verdict.UNRESOLVED_REASON`, kept here so the status line never loads the verdict.
UNRESOLVED_REASON = "answered, but the transcript's API error is not resolved yet"
WAITING_FOR = {"dns": "DNS", "tcp": "the connection", "tls": "TLS", "ttfb": "the first byte"}


class Signal(Record):
    """The status to show, the cause behind an error, a marker, and where it came from."""

    # `note`: what else is known, for the full style (`network ok`: the probe got its answer).
    # `brief`: the cause in the fewest words, for the short style of a narrow row.
    _fields = (("status", "unknown"), ("cause", ""), ("marker", ""), ("source", "probe"), ("note", ""),
               ("brief", ""))
    __slots__ = _slots(_fields)


def http_cause(status: int, error_type=None, retry_after=None) -> str:
    text = HTTP_CAUSES.get(status) or f"{status} {(error_type or 'error').replace('_error', '')}"
    if status == 429 and retry_after:
        text += f" · retry in {retry_after}s"
    return text


def transport_cause(phase, stalled_phase, timeout_ms, detail: str) -> str:
    """`DNS: no such host`, `TLS: certificate expired`, `timeout after 2.5s waiting for the first byte`."""
    detail = (detail or "").lower()
    if phase == "timeout":
        seconds = f"{timeout_ms / 1000:g}s" if timeout_ms else "the timeout"
        return f"timeout after {seconds} waiting for {WAITING_FOR.get(stalled_phase, 'an answer')}"
    if phase == "dns":
        return "DNS: no such host" if "resolve" in detail or not detail else "DNS: lookup failed"
    if phase == "tcp":
        for needle, text in (("refused", "connection refused"), ("no route", "no route to host"),
                             ("unreachable", "network unreachable")):
            if needle in detail:
                return f"TCP: {text}"
        return "TCP: connect failed"
    if phase == "tls":
        for needle, text in (("expired", "certificate expired"), ("self-signed", "certificate not trusted"),
                             ("self signed", "certificate not trusted"), ("issuer", "certificate not trusted"),
                             ("verify", "certificate not trusted"), ("subject", "certificate name mismatch"),
                             ("hostname", "certificate name mismatch"), ("no alternative", "certificate name mismatch")):
            if needle in detail:
                return f"TLS: {text}"
        return "TLS: handshake failed"
    return "no answer" if not phase else f"{phase.upper()} failed"


def probe_cause(state: MonitorState) -> str:
    network = state.network
    if network.last_http_status:
        return http_cause(network.last_http_status, network.error_type, network.retry_after)
    return transport_cause(network.failure_phase, _stalled(state), network.timeout_ms, state.reason)


def _stalled(state: MonitorState):
    # The recorded reason names the phase a timeout stalled in ("... during TTFB").
    reason = state.reason or ""
    for phase in ("dns", "tcp", "tls", "ttfb"):
        if f"during {phase.upper()}" in reason:
            return phase
    return "ttfb"


def assess(state: MonitorState | None, scan: TranscriptScan | None = None, now_s: float | None = None,
           waiting_s: float = 10.0) -> Signal:
    """The signal for one render. Without a scan (the shell prompt) only the state counts."""
    if state is None or not state.monitoring_enabled:
        return Signal(status="unknown", source="none")
    signal = Signal(status=state.status, source="probe")
    if state.status == "error":
        signal.cause = probe_cause(state)
    evidence_ms = state.windows.last_probe_epoch_ms
    passive = state.passive
    if passive.at_ms and passive.at_ms > evidence_ms and passive.outcome:
        evidence_ms = passive.at_ms
        if passive.outcome == "error":
            cause = http_cause(passive.http_status, passive.error_type, passive.retry_after) \
                if passive.http_status else "no answer from the API"
            if passive.attempt and passive.attempt > 1:
                cause += f" · retry {passive.attempt - 1}"
            signal = Signal(status="error", cause=cause, source="proxy")
        elif passive.outcome == "stall" and passive.stall_since_ms:
            signal.source = "proxy"
            if now_s is not None:
                signal.marker = f"⏳ stall {_age(now_s - passive.stall_since_ms / 1000)}"
        else:
            signal = Signal(status="healthy", source="proxy")
    if scan is None or now_s is None:
        return signal
    reply_s = scan.last_reply_epoch_s
    if signal.status == "error" and reply_s:
        error_s = max(evidence_ms / 1000, (scan.error or {}).get("epoch_s") or 0)
        if reply_s > error_s:
            # A reply newer than every failure: the API answers, whatever the last probe said.
            signal = Signal(status="healthy", source="session")
    elif (signal.status == "degraded" and signal.source == "probe" and state.reason == UNRESOLVED_REASON
          and reply_s and scan.read and not scan.unresolved):
        # The probe answered and its only doubt was the session's error, which a reply has since settled.
        signal = Signal(status="healthy", source="session")
    waiting = scan.waiting_since_epoch_s
    anonymous = state.source == "none"
    answered = signal.source == "probe" and signal.status in ("healthy", "degraded")
    if waiting and (scan.attempts or 0) > 1 and not (signal.source == "proxy" and signal.status == "error"):
        # Claude Code is retrying this turn: its attempts are newer than any probe.
        if signal.status == "error":
            signal.cause += f" · attempt {scan.attempts}"
            return signal
        progress = f"attempt {scan.attempts} · {_age(now_s - waiting)}"
        return Signal(status="error", source="session", note=API_SIDE if answered else "",
                      cause=f"Claude Code is retrying · {progress}", brief=f"retrying · {progress}")
    if waiting and now_s - waiting >= waiting_s and signal.status != "error" and not signal.marker:
        if anonymous and answered:
            # An edge's 401 says nothing of the model this turn waits on: the wait is all there is.
            return Signal(status="degraded", marker=f"⏳ {_age(now_s - waiting)}", source="turn", note=PATH_OK)
        signal.marker = f"⏳ {_age(now_s - waiting)}"
    if (anonymous and answered and scan.error and scan.unresolved and scan.recent and not waiting
            and signal.source == "probe"):
        error = scan.error
        cause = http_cause(error["code"], error.get("type")) if error.get("code") else "API error"
        return Signal(status="degraded", cause=f"last turn {cause}", source="session", note=PATH_OK)
    return signal


# What a probe that got its answer (an anonymous one: the edge's 401) proves, in the line's few words.
PATH_OK = "network ok"
API_SIDE = "network ok, API side"


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds}s" if seconds < 100 else f"{seconds // 60}m{seconds % 60:02d}s"


def waiting_too_long(scan: TranscriptScan | None, now_s: float, waiting_s: float) -> bool:
    return bool(scan and scan.waiting_since_epoch_s and now_s - scan.waiting_since_epoch_s >= waiting_s)


def recovered_unconfirmed(state: MonitorState | None, scan: TranscriptScan | None) -> bool:
    """The session proves the API answers, but the state still holds a failure: confirm it."""
    if state is None or scan is None or not scan.last_reply_epoch_s:
        return False
    return state.status == "error" and scan.last_reply_epoch_s * 1000 > state.windows.last_probe_epoch_ms
