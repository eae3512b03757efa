"""What watch says: one human line per event on stderr, or one JSON object with --json."""

from __future__ import annotations

import json
import sys
import time

from ccprompt.core.model import ANSWERED, MonitorState
from ccprompt.core.transition import iso_local


def fmt_s(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"


class Reporter:
    """Progress on stderr: one human line per event, or one JSON object with --json."""

    def __init__(self, as_json: bool, stream=None):
        self.as_json = as_json
        self.stream = stream or sys.stderr

    def __call__(self, event: str, text: str, **fields) -> None:
        if self.as_json:
            line = json.dumps({"ts": iso_local(time.time()), "event": event, **fields}, ensure_ascii=False)
        else:
            line = f"{time.strftime('%H:%M:%S')} {text}"
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed stderr (a detached service) must not stop the monitor


def result_fields(state: MonitorState) -> dict:
    network = state.network
    return {
        "status": state.status,
        "http_status": network.last_http_status,
        "error_type": network.error_type,
        "failure_phase": network.failure_phase,
        "total_ms": network.latency_ms,
        "breakdown": state.breakdown(),
        "p95_ms": network.p95_latency_ms or None,
        "reason": state.reason,
    }


def result_text(state: MonitorState) -> str:
    from ccprompt.core.render import ICONS
    from ccprompt.core.text import fmt_ms, sanitize

    fields = result_fields(state)
    status = fields["status"] if fields["status"] in ICONS else "unknown"
    parts = [f"{ICONS[status]} {status}"]
    if fields["http_status"]:
        parts.append(f"HTTP {fields['http_status']}")
    if fields["error_type"]:
        parts.append(sanitize(fields["error_type"], 40) + (f" ({fields['failure_phase']})"
                                                           if fields["failure_phase"] else ""))
    parts.append(f"Total:{fmt_ms(fields['total_ms'])}")
    # An HTTP error is already said by its status and type; a transport failure or a slow
    # 2xx needs the reason to be understood.
    http = fields["http_status"]
    if status not in ANSWERED and fields["reason"] and (not http or 200 <= http < 300):
        parts.append(f"({sanitize(fields['reason'], 120)})")
    return "  ".join(parts)


def plan_text(failures: int, delay: float) -> str:
    return f"retry {failures} in {fmt_s(delay)}" if failures else f"next probe in {fmt_s(delay)}"
