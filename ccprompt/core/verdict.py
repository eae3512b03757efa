"""Pure rules: percentiles, the healthy/degraded/error verdict, and probe timeouts.

Nothing here touches the clock, the disk or the network, so every row of the contract's
tables can be tested directly.
"""

from __future__ import annotations

MIN_SAMPLES = 4
MAX_SAMPLES = 12
RED_TIMEOUT_MS = 2000


def nearest_rank(values, fraction: float):
    """Nearest-rank percentile: the smallest sample with at least `fraction` of samples at or below it."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = -(-fraction * len(ordered) // 1)  # ceil without importing math
    rank = min(max(int(rank), 1), len(ordered))
    return ordered[rank - 1]


def answered(http_status: int, error_type, anonymous: bool) -> bool:
    """Did the API itself answer normally enough to judge the path on latency?

    A 2xx always does. Without a credential the probe is anonymous, and an Anthropic-shaped
    401 still proves DNS, TCP, TLS and the API edge work.
    """
    if 200 <= http_status < 300:
        return True
    return anonymous and http_status == 401 and error_type == "authentication_error"


def judge(
    http_status: int,
    total_ms,
    samples_before,
    *,
    error_type=None,
    anonymous: bool = False,
    mode: str = "GREEN",
    unresolved_error: bool = False,
    degraded_factor: float = 1.25,
    error_factor: float = 2.0,
):
    """Return (status, reason) for one probe result, judged against earlier samples."""
    if http_status == 429:
        return "degraded", "rate limited (429)"
    if not answered(http_status, error_type, anonymous):
        if http_status == 0:
            return "error", f"no answer ({error_type or 'connection_error'})"
        return "error", f"HTTP {http_status} {error_type or ''}".strip()
    samples = list(samples_before or ())
    if len(samples) < MIN_SAMPLES or total_ms is None:
        status, reason = "healthy", f"answered; {len(samples)} of {MIN_SAMPLES} baseline samples so far"
    else:
        p80 = nearest_rank(samples, 0.80)
        p95 = nearest_rank(samples, 0.95)
        if total_ms > error_factor * p95:
            return "error", f"{total_ms:.0f}ms is over {error_factor:g}x P95 ({p95:.0f}ms)"
        if total_ms > degraded_factor * p80:
            status, reason = "degraded", f"{total_ms:.0f}ms is over {degraded_factor:g}x P80 ({p80:.0f}ms)"
        else:
            status, reason = "healthy", f"{total_ms:.0f}ms is within {degraded_factor:g}x P80 ({p80:.0f}ms)"
    if mode == "RED" and unresolved_error and status == "healthy":
        return "degraded", "answered, but the transcript's API error is not resolved yet"
    return status, reason


def probe_timeout_ms(mode: str, samples, configured=None, override=None) -> int:
    """How long a probe of this kind may take: --timeout-ms, then config/env, then the rule."""
    if override:
        return int(override)
    if configured:
        return int(configured)
    if mode == "RED":
        return RED_TIMEOUT_MS
    samples = list(samples or ())
    if len(samples) < MIN_SAMPLES:
        return 3500
    return int(min(max(nearest_rank(samples, 0.95) + 500, 2500), 4000))
