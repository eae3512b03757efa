"""The verdict table (SPEC §4), percentiles and probe timeouts, as pure functions."""

import pytest

from ccprompt.core.verdict import judge, nearest_rank, probe_timeout_ms

SAMPLES = [400, 410, 420, 430, 440, 450, 460, 470, 480, 500]  # P80 = 470 (8th), P95 = 500 (10th)


def test_nearest_rank():
    assert nearest_rank([], 0.95) is None
    assert nearest_rank([7], 0.95) == 7
    assert nearest_rank(SAMPLES, 0.80) == 470
    assert nearest_rank(SAMPLES, 0.95) == 500
    assert nearest_rank([5, 1, 3, 2, 4], 0.5) == 3


@pytest.mark.parametrize(
    "http_status,total,samples,kwargs,expected",
    [
        (200, 9999, [], {}, "healthy"),  # fewer than 4 samples: any 2xx is healthy
        (200, 9999, [1, 2, 3], {}, "healthy"),
        (200, 587, SAMPLES, {}, "healthy"),  # 587 <= 1.25 * 470 = 587.5
        (200, 588, SAMPLES, {}, "degraded"),
        (200, 1000, SAMPLES, {}, "degraded"),  # 1000 <= 2 * 500
        (200, 1001, SAMPLES, {}, "error"),
        (204, 300, SAMPLES, {}, "healthy"),
        (429, 300, SAMPLES, {"error_type": "rate_limit_error"}, "degraded"),
        (429, 300, [], {}, "degraded"),
        (401, 300, SAMPLES, {"error_type": "authentication_error"}, "error"),
        (401, 300, SAMPLES, {"error_type": "authentication_error", "anonymous": True}, "healthy"),
        (401, 300, SAMPLES, {"error_type": None, "anonymous": True}, "error"),  # not Anthropic-shaped
        (403, 300, SAMPLES, {}, "error"),
        (500, 300, SAMPLES, {}, "error"),
        (529, 300, SAMPLES, {}, "error"),
        (0, 2000, SAMPLES, {"error_type": "connection_error"}, "error"),
        (200, 300, SAMPLES, {"mode": "RED", "unresolved_error": True}, "degraded"),
        (200, 300, SAMPLES, {"mode": "RED", "unresolved_error": False}, "healthy"),
        (200, 300, [], {"mode": "RED", "unresolved_error": True}, "degraded"),
        (200, 700, SAMPLES, {"degraded_factor": 1.5}, "healthy"),
        (200, 1001, SAMPLES, {"error_factor": 3.0}, "degraded"),
    ],
)
def test_verdict_table(http_status, total, samples, kwargs, expected):
    status, reason = judge(http_status, total, samples, **kwargs)
    assert status == expected
    assert reason


def test_timeouts():
    assert probe_timeout_ms("GREEN", []) == 3500
    assert probe_timeout_ms("COLD", [1, 2, 3]) == 3500
    assert probe_timeout_ms("GREEN", [100] * 5) == 2500  # clamp low
    assert probe_timeout_ms("GREEN", [3600] * 5) == 4000  # clamp high
    assert probe_timeout_ms("COLD", [2800] * 5) == 3300
    assert probe_timeout_ms("RED", [2800] * 5) == 2000
    assert probe_timeout_ms("RED", [], configured=5000) == 5000
    assert probe_timeout_ms("GREEN", [], configured=5000, override=700) == 700
