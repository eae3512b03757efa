"""The verdict: quiet on a healthy jittery API, quick on real trouble, as pure functions."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ccprompt.core.verdict import (
    MAX_SAMPLES,
    JudgeState,
    Knobs,
    ProbeResult,
    judge,
    nearest_rank,
    parse_retry_after,
    probe_timeout_ms,
    step,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = [400, 410, 420, 430, 440, 450, 460, 470, 480, 500]  # P80 = 470 (8th), P95 = 500 (10th)
STEADY = [430, 440, 445, 450, 450, 455, 460, 470] * 6  # a full baseline, usual 450 ms


def ok(ms, mode="GREEN", **kwargs):
    return ProbeResult(200, ms, mode, error_type="success", **kwargs)


def run(state, *results):
    """Step through results; return the final state and every verdict."""
    verdicts = []
    for result in results:
        state, verdict = step(state, result)
        verdicts.append(verdict)
    return state, verdicts


# -- percentiles and timeouts -----------------------------------------------------------

def test_nearest_rank():
    assert nearest_rank([], 0.95) is None
    assert nearest_rank([7], 0.95) == 7
    assert nearest_rank(SAMPLES, 0.80) == 470
    assert nearest_rank(SAMPLES, 0.95) == 500
    assert nearest_rank([5, 1, 3, 2, 4], 0.5) == 3


def test_timeouts():
    assert probe_timeout_ms("GREEN", []) == 3500
    assert probe_timeout_ms("COLD", [1, 2, 3]) == 3500
    assert probe_timeout_ms("GREEN", [100] * 5) == 2500  # clamp low
    assert probe_timeout_ms("GREEN", [3600] * 5) == 4000  # clamp high
    assert probe_timeout_ms("COLD", [2800] * 5) == 3300
    assert probe_timeout_ms("RED", [2800] * 5) == 2000
    assert probe_timeout_ms("RED", [], configured=5000) == 5000
    assert probe_timeout_ms("GREEN", [], configured=5000, override=700) == 700


# -- the stateless wrapper keeps today's signature ---------------------------------------

@pytest.mark.parametrize(
    "http_status,total,samples,kwargs,expected",
    [
        (200, 3000, [], {}, "healthy"),  # fewer than 4 samples: any 2xx under 4 s is healthy
        (200, 3000, [1, 2, 3], {}, "healthy"),
        (200, 588, SAMPLES, {}, "healthy"),  # the old rule's yellow: now well within the spread
        (200, 1000, SAMPLES, {}, "healthy"),  # slow, but one slow probe only arms a confirmation
        (200, 1400, SAMPLES, {}, "degraded"),  # extreme: past 3 floors and 2.5x the usual
        (200, 4500, SAMPLES, {}, "degraded"),  # past 4 s: degraded at once; red needs a second
        (200, 4500, [], {}, "degraded"),
        (204, 300, SAMPLES, {}, "healthy"),
        (429, 300, SAMPLES, {"error_type": "rate_limit_error"}, "degraded"),
        (429, 300, [], {}, "degraded"),
        (401, 300, SAMPLES, {"error_type": "authentication_error"}, "error"),
        (401, 300, SAMPLES, {"error_type": "authentication_error", "anonymous": True}, "healthy"),
        (401, 300, SAMPLES, {"error_type": None, "anonymous": True}, "error"),  # not Anthropic-shaped
        (403, 300, SAMPLES, {}, "error"),
        (500, 300, SAMPLES, {}, "error"),
        (529, 300, SAMPLES, {"error_type": "overloaded_error"}, "error"),
        (0, 2000, SAMPLES, {"error_type": "connection_error"}, "error"),
        (0, None, SAMPLES, {"error_type": "timeout"}, "error"),
        (200, 300, SAMPLES, {"mode": "RED", "unresolved_error": True}, "degraded"),
        (200, 300, SAMPLES, {"mode": "RED", "unresolved_error": False}, "healthy"),
        (200, 300, [], {"mode": "RED", "unresolved_error": True}, "degraded"),
        (200, 588, SAMPLES, {"degraded_factor": 1.1, "error_factor": 1.1}, "healthy"),  # old knobs: accepted, unused
    ],
)
def test_judge_wrapper(http_status, total, samples, kwargs, expected):
    status, reason = judge(http_status, total, samples, **kwargs)
    assert status == expected
    assert reason


def test_judge_wrapper_says_when_it_is_confirming():
    assert judge(200, 1000, SAMPLES) == ("healthy", "1.0 s is 2.2× the usual 445 ms; confirming")
    assert judge(529, 300, SAMPLES, error_type="overloaded_error") == ("error", "HTTP 529 overloaded_error")


# -- absolute floors --------------------------------------------------------------------

def test_a_fast_path_stays_healthy_when_only_a_few_ms_slower():
    # 18 ms against a 12 ms baseline is 1.5x, but only 6 ms: nobody should see yellow.
    state = JudgeState([11, 12, 12, 13] * 12)
    state, verdicts = run(state, *[ok(18)] * 10)
    assert {v.status for v in verdicts} == {"healthy"}
    assert not any(v.confirm for v in verdicts)


def test_a_slow_answer_on_a_fast_path_is_yellow_not_red():
    state = JudgeState([17, 18, 18, 19] * 12)
    state, verdicts = run(state, *[ok(312)] * 6)
    assert verdicts[0].status == "healthy" and verdicts[0].confirm  # one slow probe: confirming
    assert [v.status for v in verdicts[1:]] == ["degraded"] * 5
    assert "312 ms is 17.3× the usual 18 ms (2nd slow probe in a row)" == verdicts[1].reason


def test_the_floor_is_a_knob():
    state = JudgeState([17, 18, 18, 19] * 12)
    strict = Knobs(slow_floor_ms=50)
    _, first = step(state, ok(100), strict)
    assert first.confirm
    _, relaxed = step(state, ok(100), Knobs(slow_floor_ms=250))
    assert not relaxed.confirm


# -- confirmation -----------------------------------------------------------------------

def test_one_slow_probe_arms_a_confirmation_and_the_next_confirms_it():
    state = JudgeState(STEADY)
    state, first = step(state, ok(1080))
    assert (first.status, first.confirm, first.admitted, first.held) == ("healthy", True, False, True)
    assert first.reason == "1.1 s is 2.4× the usual 450 ms; confirming"
    assert state.slow_streak == 1 and state.held == [1080.0]
    state, second = step(state, ok(1100, "CONFIRM"))
    assert (second.status, second.confirm, second.admitted) == ("degraded", False, True)
    assert second.reason == "1.1 s is 2.4× the usual 450 ms (2nd slow probe in a row)"
    assert state.samples[-2:] == [1080.0, 1100.0] and state.held == []
    state, third = step(state, ok(1150))
    assert third.status == "degraded" and "3rd slow probe in a row" in third.reason


def test_a_fast_confirmation_clears_the_alarm_and_keeps_the_outlier_as_jitter():
    state = JudgeState(STEADY)
    state, first = step(state, ok(1080))
    state, second = step(state, ok(460, "CONFIRM"))
    assert second.status == "healthy" and not second.confirm
    assert state.slow_streak == 0
    # The outlier joins the baseline after its check: dropping every cleared outlier would
    # shrink the spread and make the next alarm likelier.
    assert state.samples[-2:] == [1080.0, 460.0]


def test_the_outlier_does_not_vouch_for_its_own_confirmation():
    state, _ = step(JudgeState(STEADY), ok(1080))
    assert 1080.0 not in state.samples
    _, second = step(state, ok(1080))
    assert second.usual_ms == pytest.approx(450)


def test_an_alarm_holds_on_a_lower_bar_than_it_took_to_start():
    base = JudgeState([1000] * 48)  # arm at 1.5x (1500 ms), hold at 1.25x (1250 ms)
    _, fresh = step(base, ok(1300))
    assert (fresh.status, fresh.confirm) == ("healthy", False)
    state, _ = run(base, ok(1600), ok(1600))
    _, held = step(state, ok(1300))
    assert held.status == "degraded"
    _, cleared = step(state, ok(1200))
    assert cleared.status == "healthy"


def test_an_extreme_result_turns_yellow_alone_but_still_asks_for_confirmation():
    state, verdict = step(JudgeState(STEADY), ok(2500))
    assert (verdict.status, verdict.confirm, verdict.held) == ("degraded", True, True)
    state, verdict = step(state, ok(450))
    assert verdict.status == "healthy"


def test_a_failed_probe_counts_towards_confirmation():
    state, verdicts = run(JudgeState(STEADY), ProbeResult(529, 300.0, "GREEN", error_type="overloaded_error"),
                          ok(1100))
    assert [v.status for v in verdicts] == ["error", "degraded"]


# -- red means not working ----------------------------------------------------------------

@pytest.mark.parametrize("status,error_type", [(500, "api_error"), (529, "overloaded_error"), (403, "permission_error"),
                                               (401, "authentication_error"), (404, "not_found_error")])
def test_non_2xx_is_red_at_once(status, error_type):
    _, verdict = step(JudgeState(STEADY), ProbeResult(status, 250.0, "GREEN", error_type=error_type))
    assert verdict.status == "error" and verdict.confirm and not verdict.admitted
    assert verdict.reason == f"HTTP {status} {error_type}"


def test_transport_failures_and_timeouts_are_red_at_once():
    _, refused = step(JudgeState(STEADY), ProbeResult(0, None, "GREEN", error_type="connection_error",
                                                       failure_phase="tcp"))
    assert (refused.status, refused.reason) == ("error", "no answer (connection_error)")
    state, timeout = step(JudgeState(STEADY), ProbeResult(0, None, "GREEN", error_type="connection_error",
                                                          failure_phase="timeout"))
    assert (timeout.status, timeout.reason) == ("error", "no answer (timeout)")
    assert state.far_streak == 1


def test_a_2xx_past_4s_is_yellow_then_red():
    state, verdicts = run(JudgeState(STEADY), ok(4200), ok(5000), ok(6100))
    assert [v.status for v in verdicts] == ["degraded", "error", "error"]
    assert verdicts[0].confirm and verdicts[0].reason == "4.2 s is past 4.0 s; confirming"
    assert verdicts[1].reason == "5.0 s, 2nd probe in a row past 4.0 s"
    assert not any(v.admitted or v.held for v in verdicts)  # never part of the usual
    assert state.samples == [float(v) for v in STEADY]


def test_a_2xx_past_4s_after_a_timeout_is_red():
    _, verdicts = run(JudgeState(), ProbeResult(0, None, "GREEN", failure_phase="timeout"), ok(4500))
    assert [v.status for v in verdicts] == ["error", "error"]


def test_a_slow_2xx_is_never_red_below_4s():
    state, verdicts = run(JudgeState(STEADY), *[ok(3900)] * 20)
    assert "error" not in {v.status for v in verdicts}


def test_error_after_is_a_knob():
    _, verdicts = run(JudgeState(STEADY), ok(2600), ok(2600))
    assert [v.status for v in verdicts] == ["degraded", "degraded"]
    knobs = Knobs(error_after_ms=2500)
    state, first = step(JudgeState(STEADY), ok(2600), knobs)
    _, second = step(state, ok(2600), knobs)
    assert (first.status, second.status) == ("degraded", "error")


def test_recovery_is_immediate():
    state, verdicts = run(JudgeState(STEADY), *[ProbeResult(529, 300.0, "RED")] * 5, ok(455))
    assert verdicts[-1].status == "healthy" and state.slow_streak == 0


# -- 429, anonymous 401, RED probes ----------------------------------------------------------

def test_429_is_yellow_with_its_retry_after():
    state = JudgeState(STEADY, slow_streak=1)
    nxt, verdict = step(state, ProbeResult(429, 200.0, "GREEN", error_type="rate_limit_error", retry_after="7"))
    assert (verdict.status, verdict.retry_after_s, verdict.confirm) == ("degraded", 7, True)
    assert verdict.reason == "rate limited (429) · retry in 7s"
    assert nxt.slow_streak == 1 and nxt.samples == state.samples  # no latency information either way
    _, dated = step(state, ProbeResult(429, 200.0, retry_after="Wed, 21 Oct 2026 07:28:00 GMT"))
    assert (dated.retry_after_s, dated.reason) == (None, "rate limited (429)")


@pytest.mark.parametrize("raw,expected", [("7", 7), (" 2.5 ", 3), (30, 30), ("0", 0), ("-1", None), ("soon", None),
                                          (None, None), (True, None), (float("nan"), None), ("1e9", 86400)])
def test_retry_after_parsing(raw, expected):
    assert parse_retry_after(raw) == expected


def test_an_anonymous_anthropic_401_is_judged_on_latency():
    anonymous = dict(error_type="authentication_error", anonymous=True)
    state, verdict = step(JudgeState(STEADY), ProbeResult(401, 460.0, "GREEN", **anonymous))
    assert verdict.status == "healthy" and verdict.admitted and state.samples[-1] == 460.0
    _, verdicts = run(JudgeState(STEADY), *[ProbeResult(401, 1100.0, "GREEN", **anonymous)] * 2)
    assert [v.status for v in verdicts] == ["healthy", "degraded"]
    _, keyed = step(JudgeState(STEADY), ProbeResult(401, 460.0, "GREEN", error_type="authentication_error"))
    assert keyed.status == "error"


def test_a_red_probe_that_answers_is_yellow_while_the_transcript_error_is_unresolved():
    state, verdict = step(JudgeState(STEADY), ok(450, "RED", unresolved_error=True))
    assert verdict.status == "degraded" and "not resolved" in verdict.reason
    assert not verdict.admitted and len(state.samples) == len(STEADY)
    _, resolved = step(JudgeState(STEADY), ok(450, "RED", unresolved_error=False))
    assert resolved.status == "healthy"
    _, slow = step(JudgeState(STEADY), ok(4500, "RED", unresolved_error=True))
    assert slow.status == "degraded"


# -- the baseline -----------------------------------------------------------------------

@pytest.mark.parametrize("mode,admitted", [("GREEN", True), ("COLD", True), ("CALIBRATE", True), ("CONFIRM", True),
                                           ("RED", False), ("MANUAL", False)])
def test_only_baseline_modes_become_samples(mode, admitted):
    state, verdict = step(JudgeState(), ok(450, mode))
    assert verdict.admitted is admitted
    assert state.samples == ([450.0] if admitted else [])


def test_the_baseline_keeps_the_newest_samples():
    state, _ = run(JudgeState(), *[ok(float(ms), "CALIBRATE") for ms in range(400, 400 + MAX_SAMPLES + 10)])
    assert len(state.samples) == MAX_SAMPLES == 48
    assert state.samples[0] == 410.0


def test_before_four_samples_every_answer_is_healthy():
    state, verdicts = run(JudgeState(), ok(400), ok(420), ok(3000))
    assert [v.status for v in verdicts] == ["healthy"] * 3
    assert verdicts[-1].reason == "answered in 3.0 s; 2 of 4 baseline samples so far"
    assert verdicts[-1].usual_ms is None and len(state.samples) == 3


def test_a_sustained_new_normal_becomes_the_baseline():
    state, verdicts = run(JudgeState(STEADY), *[ok(1100)] * 40)
    assert verdicts[1].status == "degraded"
    assert verdicts[-1].status == "healthy"  # the median moved: this is the usual now
    assert state.usual_ms() == pytest.approx(1100)


# -- the stored state -------------------------------------------------------------------

def test_state_round_trips_through_json():
    state, _ = run(JudgeState(STEADY), ok(1080))
    document = json.loads(json.dumps(state.to_json()))
    assert set(document) == {"samples", "held", "slow_streak", "far_streak"}
    assert document["held"] == [1080.0] and document["slow_streak"] == 1
    assert JudgeState.from_json(document) == state


@pytest.mark.parametrize("raw", [None, "garbage", 7, [], {}, {"samples": "450,460"}, {"samples": None, "held": 3},
                                 {"slow_streak": "2", "far_streak": None}, {"samples": [{"a": 1}, [2], "450"]}])
def test_from_json_turns_garbage_into_an_empty_state(raw):
    state = JudgeState.from_json(raw)
    assert state.samples == [] and state.held == [] and state.slow_streak == 0 and state.far_streak == 0
    step(state, ok(450))  # still usable


def test_from_json_keeps_what_it_can():
    raw = {"samples": [450, float("nan"), float("inf"), -3, "460", True, None, 10**400, 1e12, 470.5],
           "held": [float("nan"), 900], "slow_streak": float("nan"), "far_streak": 10**400}
    state = JudgeState.from_json(raw)
    assert state.samples == [450.0, 470.5]
    assert state.held == [900.0]
    assert state.slow_streak == 0 and state.far_streak == 1_000_000


def test_from_json_bounds_huge_lists():
    state = JudgeState.from_json({"samples": [450.0] * 1_000_000, "held": list(range(1000))})
    assert state.samples == [450.0] * MAX_SAMPLES
    assert state.held == [999.0]
    # Only the newest are read, so a long tail of nonsense leaves an empty baseline, never a crash.
    assert JudgeState.from_json({"samples": [450] * 100 + [10**9] * 100}).samples == []


def test_step_accepts_a_missing_state():
    state, verdict = step(None, ok(450))
    assert verdict.status == "healthy" and state.samples == [450.0]


def test_probe_result_from_an_outcome():
    from ccprompt.core.model import Outcome

    outcome = Outcome(http_status=429, mode="RED", error_type="rate_limit_error", retry_after="12",
                      credential_source="none", phases_ms={"total": 300.0})
    result = ProbeResult.from_outcome(outcome, unresolved_error=True)
    assert (result.http_status, result.total_ms, result.mode, result.anonymous, result.unresolved_error,
            result.retry_after) == (429, 300.0, "RED", True, True, "12")
    assert step(JudgeState(), result)[1].retry_after_s == 12


def test_the_verdict_imports_nothing_but_math():
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); before = set(sys.modules); "
            "import ccprompt.core.verdict; print(' '.join(sorted(set(sys.modules) - before)))")
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True)
    assert set(out.stdout.split()) <= {"ccprompt", "ccprompt.core", "ccprompt.core.verdict", "math"}


# -- the simulation's targets, short and seeded -------------------------------------------------

@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_verdict", ROOT / "tests/bench/bench_verdict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_healthy_jittery_api_is_rarely_yellow_and_never_red(bench):
    figures = bench.stationary(0.35, runs=60, seed=11)
    assert figures["new"]["yellow_pct"] <= 2.0
    assert figures["new"]["red_pct"] == 0 and figures["new"]["runs_with_red_pct"] == 0
    assert figures["old"]["yellow_pct"] > 5  # what the issue measured


def test_real_trouble_shows_quickly_and_recovery_at_once(bench):
    step_delays = bench.delays("step", 80, seed=11)["new"]
    assert bench.median(step_delays) <= 2 and bench.pct_within(step_delays, 3) >= 85
    for kind in ("far", "timeout", "far+timeout"):
        assert max(bench.delays(kind, 20, seed=11)["new"]) <= 2, kind
    for kind in ("recover-step", "recover-529", "recover-far"):
        assert max(bench.delays(kind, 40, seed=11)["new"]) <= 3, kind
