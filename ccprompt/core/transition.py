"""The next state after a probe: pure functions of the previous state, the outcome and the clock."""

from __future__ import annotations

from ccprompt.core import verdict
from ccprompt.core.model import RECENT_COLD_LIMIT, MonitorState, Network, Outcome, Passive, Windows
from ccprompt.core.text import redact_url


def iso_local(epoch_s: float) -> str:
    """Local ISO-8601 time with milliseconds and the UTC offset."""
    from datetime import datetime

    return datetime.fromtimestamp(epoch_s).astimezone().isoformat(timespec="milliseconds")


def _round(value):
    return None if value is None else round(value, 1)


def judge_state(previous: MonitorState | None, endpoint: str) -> verdict.JudgeState:
    """The verdict's memory for this endpoint: a fresh one when the endpoint changed."""
    if previous is None or previous.endpoint != endpoint:
        return verdict.JudgeState()
    return verdict.JudgeState.from_json({**previous.judge, "samples": previous.network.rolling_totals})


def apply_outcome(previous: MonitorState | None, outcome: Outcome, *, now_s: float, session_id=None,
                  transcript_error=None, monitoring_enabled: bool = True, green_interval_s: int = 300,
                  red_interval_s: int = 10, judged: verdict.JudgeState | None = None,
                  confirm: bool = False) -> MonitorState:
    """The next state after a judged probe outcome (`status` and `reason` already set).

    `judged` is the verdict's state after this outcome (its samples are the baseline);
    without one, the baseline is left as it was.
    """
    endpoint = redact_url(outcome.endpoint)
    mode = outcome.mode
    total = outcome.total_ms
    if judged is None:
        judged = judge_state(previous, endpoint)
    samples = [round(v) for v in judged.samples]
    memory = {k: v for k, v in judged.to_json().items() if k != "samples"}
    memory["confirm"] = bool(confirm)
    same_endpoint = previous is not None and previous.endpoint == endpoint
    old = previous.windows if same_endpoint else Windows()
    now_ms = int(now_s * 1000)
    cold = list(old.recent_cold_sessions)
    if mode == "COLD" and session_id and session_id not in cold:
        cold = (cold + [session_id])[-RECENT_COLD_LIMIT:]
    network = Network(
        latency_ms=None if total is None else round(total),
        phases_ms={k: _round(v) for k, v in outcome.phases_ms.items()},
        reused=dict(outcome.reused),
        last_http_status=outcome.http_status,
        http_version=outcome.http_version,
        error_type=None if outcome.error_type == "success" else outcome.error_type,
        error_message=outcome.error_message,
        failure_phase=outcome.failure_phase,
        timeout_ms=outcome.timeout_ms,
        remote_ip=outcome.remote_ip,
        request_id=outcome.request_id,
        retry_after=outcome.retry_after,
        ratelimit=dict(outcome.ratelimit),
        auth=outcome.auth,
        rolling_totals=samples,
        # No percentile until there are enough samples to mean anything (`P95:N/A` until then).
        p80_latency_ms=(verdict.nearest_rank(samples, 0.80) or 0) if len(samples) >= verdict.MIN_SAMPLES else 0,
        p95_latency_ms=(verdict.nearest_rank(samples, 0.95) or 0) if len(samples) >= verdict.MIN_SAMPLES else 0,
        model=outcome.model or None,
    )
    windows = Windows(
        last_probe_mode=mode,
        last_green_window_id=old.last_green_window_id,
        last_red_window_id=old.last_red_window_id,
        recent_cold_sessions=cold,
        last_probe_at=iso_local(now_s),
        last_probe_epoch_ms=now_ms,
        last_baseline_epoch_ms=old.last_baseline_epoch_ms,
        failed_in_a_row=old.failed_in_a_row + 1 if outcome.status == "error" else 0,
        last_path_epoch_ms=old.last_path_epoch_ms,
    )
    if mode in ("GREEN", "COLD", "CALIBRATE"):
        windows.last_baseline_epoch_ms = now_ms
        windows.last_green_window_id = now_ms // (green_interval_s * 1000)
    if mode in ("RED", "CONFIRM"):
        windows.last_red_window_id = now_ms // (red_interval_s * 1000)
    counts = dict(previous.probe_counts) if previous else {}
    counts[outcome.status] = counts.get(outcome.status, 0) + 1
    incidents = dict(previous.incident_counts) if previous else {}
    if mode in ("RED", "CONFIRM"):
        incidents[outcome.status] = incidents.get(outcome.status, 0) + 1
    return MonitorState(
        status=outcome.status,
        reason=outcome.reason,
        monitoring_enabled=monitoring_enabled,
        endpoint=endpoint,
        source=outcome.credential_source,
        network=network,
        windows=windows,
        last_jsonl_error_event=transcript_error or (previous.last_jsonl_error_event if previous else None),
        # Kept in the state, not derived from the history: the history rotates, and
        # Prometheus counters must never go down.
        probe_counts=counts,
        incident_counts=incidents,
        timestamp=iso_local(now_s),
        passive=previous.passive if previous is not None and previous.endpoint == endpoint else Passive(),
        judge=memory,
    )


def unknown_state(previous: MonitorState | None, *, reason: str, endpoint: str, source: str, now_s: float,
                  monitoring_enabled: bool = True) -> MonitorState:
    """A state that says why there is no verdict (monitoring off, no credential, ...)."""
    state = MonitorState.from_json(previous.to_json()) if previous else MonitorState()
    state.status = "unknown"
    state.reason = reason
    state.monitoring_enabled = monitoring_enabled
    state.endpoint = redact_url(endpoint)
    state.source = source
    state.timestamp = iso_local(now_s)
    state.windows.last_probe_at = iso_local(now_s)
    state.windows.last_probe_epoch_ms = int(now_s * 1000)
    return state


def history_record(outcome: Outcome, now_s: float) -> dict:
    """What the history keeps of an outcome: numbers and verdicts, no content, no secrets."""
    return {
        "ts": iso_local(now_s),
        "epoch_ms": int(now_s * 1000),
        "mode": outcome.mode,
        "status": outcome.status,
        "http_status": outcome.http_status,
        "error_type": outcome.error_type,
        "failure_phase": outcome.failure_phase,
        "phases_ms": {k: _round(v) for k, v in outcome.phases_ms.items()},
        "endpoint": redact_url(outcome.endpoint),
    }
