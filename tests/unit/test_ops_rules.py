"""Pure rules behind the operations commands: backoff, periods, sparklines, exposition, NO_PROXY."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ccprompt.ops import history as historyview
from ccprompt.ops import metrics as _metrics
from ccprompt.ops.doctor import netpath as doctor
from ccprompt.ops.watch import plan as watch
from harness.states import as_state


# -- watch backoff -------------------------------------------------------------------

def test_backoff_is_the_schedule_rule_retries_soon_then_doubles_up_to_the_interval():
    none = lambda: 0.0  # noqa: E731 - no spread
    delays = [watch.next_delay(n, 300, 10, none) for n in (0, 1, 2, 3, 60, 61, 62, 63, 64, 65)]
    assert delays == [300, 10, 10, 10, 10, 20, 40, 80, 160, 300]


@pytest.mark.parametrize("failures", [61, 62, 63, 64])
def test_jitter_only_shortens_by_up_to_20_percent_and_never_shrinks_the_schedule(failures):
    shortest = watch.next_delay(failures, 10_000, 10, lambda: 0.999999)
    nominal = watch.next_delay(failures, 10_000, 10, lambda: 0.0)
    assert nominal == 10 * 2 ** (failures - 60) and shortest == pytest.approx(nominal * 0.8, rel=1e-5)
    assert watch.next_delay(failures + 1, 10_000, 10, lambda: 0.999999) > nominal  # the next is always longer


def test_backoff_survives_a_very_long_outage():
    assert watch.next_delay(10_000, 300, 10) == 300


def test_a_short_interval_caps_even_the_first_retry():
    assert watch.next_delay(1, 5, 10) == 5


@pytest.mark.parametrize("value,expected", [("30", 30.0), (" 2.5 ", 2.5), ("soon", None), (None, None),
                                            ("0", None), ("-4", None)])
def test_retry_after_is_read_from_the_recorded_probe(value, expected):
    assert watch.retry_after_s(as_state({"network": {"retry_after": value}})) == expected


# -- history ---------------------------------------------------------------------------

@pytest.mark.parametrize("text,seconds", [("90s", 90), ("30m", 1800), ("1h", 3600), ("1h30m", 5400),
                                          ("2d", 172800), ("1w", 604800), (" 1H ", 3600), ("all", None)])
def test_since_accepts_durations(text, seconds):
    assert historyview.parse_since(text) == seconds


@pytest.mark.parametrize("text", ["", "1", "h", "1h junk", "yesterday", "0m", "-1h"])
def test_since_rejects_the_rest(text):
    with pytest.raises(ValueError):
        historyview.parse_since(text)


def rec(total, status="healthy", http=200):
    return {"epoch_ms": 0, "status": status, "http_status": http, "phases_ms": {"total": total}}


def test_sparkline_scales_between_the_smallest_and_largest_total():
    records = [rec(t) for t in (100, 200, 300, 400, 500, 600, 700, 800)]
    assert historyview.sparkline(records) == "▁▂▃▄▅▆▇█"


def test_sparkline_marks_probes_without_an_answer():
    records = [rec(100), rec(3500.0, "error", 0), rec(100), rec(400, "error", 529)]
    assert historyview.sparkline(records) == "▄×▄×"  # all answered probes equal: mid height


def test_sparkline_groups_long_periods_and_keeps_failures_visible():
    records = [rec(100)] * 100 + [rec(900)] * 99 + [rec(5.0, "error", 0)]
    line = historyview.sparkline(records, width=20)
    assert len(line) == 20
    assert line[:10] == "▁" * 10 and line[10:19] == "█" * 9 and line[19] == "×"


def test_summary_uses_nearest_rank_over_answered_probes_only():
    records = [rec(t) for t in (120, 80, 100, 90, 110)] + [rec(4000.0, "error", 0)]
    stats = historyview.summarize(records)
    assert stats["p50_ms"] == 100 and stats["p95_ms"] == 120
    assert stats["errors"] == 1 and stats["error_rate"] == round(1 / 6, 4)


def test_a_slow_2xx_judged_error_still_counts_as_latency():
    records = [rec(100), rec(900, "error", 200)]
    stats = historyview.summarize(records)
    assert stats["p95_ms"] == 900 and stats["errors"] == 1
    assert historyview.sparkline(records) == "▁█"


def test_slowest_phase():
    record = {"phases_ms": {"dns": 12.0, "tcp": 30.0, "tls": None, "ttfb": 380.0, "total": 470.0}}
    assert historyview.slowest_phase(record) == ("TTFB", 380.0)
    assert historyview.slowest_phase({"phases_ms": {"total": 5.0}}) is None


# -- metrics ---------------------------------------------------------------------------

def test_exposition_escapes_label_values_and_parses():
    state = {"schema": 1, "status": "degraded", "api_config": {"endpoint": 'https://h/"q"\\x', "source": "shell"},
             "network": {"last_http_status": 429, "phases_ms": {"total": 12.5}}, "monitoring_state": {},
             "probe_counts": {"healthy": 3, "degraded": 1, "bogus": "x"}}
    text = _metrics.render(as_state(state), [], now_s=1000.0)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    info = families["ccprompt_info"].samples[0]
    assert info.labels["endpoint"] == 'https://h/"q"\\x'
    assert families["ccprompt_up"].samples[0].value == 1  # degraded still answers
    counts = {s.labels["result"]: s.value for s in families["ccprompt_probes"].samples}
    assert counts == {"healthy": 3, "degraded": 1, "error": 0, "unknown": 0}
    assert families["ccprompt_last_probe_phase_seconds"].samples[0].value == 0.0125


def test_exposition_names_follow_the_conventions():
    text = _metrics.render(None, [], now_s=0.0)
    for line in text.splitlines():
        if line.startswith("# TYPE"):
            _, _, name, kind = line.split()
            assert name.startswith("ccprompt_")
            assert name.endswith("_total") == (kind == "counter")


def test_last_success_comes_from_the_history():
    records = [{"epoch_ms": 1000, "status": "healthy"}, {"epoch_ms": 2000, "status": "error"},
               {"epoch_ms": 1500, "status": "degraded"}]
    assert _metrics.last_success_ms(records) == 1500


# -- doctor ----------------------------------------------------------------------------

@pytest.mark.parametrize("host,no_proxy,bypassed", [
    ("api.anthropic.com", "", False),
    ("api.anthropic.com", "*", True),
    ("api.anthropic.com", "anthropic.com", True),
    ("api.anthropic.com", ".anthropic.com", True),
    ("api.anthropic.com", "localhost, 127.0.0.1", False),
    ("notanthropic.com", "anthropic.com", False),
    ("localhost", "localhost:8080", True),
    ("::1", "[::1]", True),
])
def test_no_proxy_matching(host, no_proxy, bypassed):
    assert doctor.proxy_bypassed(host, no_proxy) is bypassed


# -- the watch loop's plan -------------------------------------------------------------

def _state(status, retry_after=None):
    return as_state({"status": status, "network": {"retry_after": retry_after}})


def test_plan_after_a_good_probe_waits_the_interval_and_resets_failures():
    step = watch.plan("probe", _state("healthy"), 1000.0, failures=3, interval_s=300, retry_s=10)
    assert (step.failures, step.delay_s, step.next_due_s, step.once_code) == (0, 300, 1300.0, 0)


def test_plan_backs_off_after_failures_and_obeys_retry_after():
    first = watch.plan("probe", _state("error"), 0.0, failures=0, interval_s=300, retry_s=10)
    assert (first.failures, first.delay_s, first.once_code) == (1, 10, 1)
    told = watch.plan("probe", _state("error", retry_after="45"), 0.0, failures=0, interval_s=300, retry_s=10)
    assert told.delay_s == 45  # a 429/529 that says when to come back is obeyed
    capped = watch.plan("probe", _state("error", retry_after="9999"), 0.0, failures=0, interval_s=300, retry_s=10)
    assert capped.delay_s == 300  # within the interval


def test_plan_counts_an_adopted_probe_from_when_it_was_made():
    step = watch.plan("adopt", _state("degraded"), 500.0, failures=2, interval_s=60, retry_s=10, seen_s=480.0)
    assert (step.failures, step.next_due_s, step.once_code) == (0, 540.0, 0)


def test_plan_for_skip_busy_and_error():
    skip = watch.plan("skip", None, 0.0, failures=1, interval_s=300, retry_s=10)
    assert (skip.failures, skip.delay_s, skip.once_code) == (1, 300, 2)
    busy = watch.plan("busy", None, 0.0, failures=0, interval_s=300, retry_s=10)
    assert (busy.delay_s, busy.once_code) == (10, 1)
    error = watch.plan("error", None, 0.0, failures=4, interval_s=300, retry_s=10, rand=lambda: 0.5)
    assert error.failures == 5 and error.delay_s == watch.next_delay(5, 300, 10, lambda: 0.5)
    with pytest.raises(ValueError):
        watch.plan("nap", None, 0.0, failures=0, interval_s=300, retry_s=10)


def test_incident_probes_are_counted_apart_and_never_go_down():
    from ccprompt.core import transition
    from ccprompt.core.model import Outcome

    state = None
    for mode, status in (("GREEN", "healthy"), ("RED", "error"), ("RED", "error"), ("CONFIRM", "healthy")):
        outcome = Outcome(endpoint="https://api.example/v1/messages", mode=mode, status=status,
                          http_status=200 if status == "healthy" else 529, phases_ms={"total": 400.0})
        state = transition.apply_outcome(state, outcome, now_s=1_795_165_000.0)
    assert state.probe_counts == {"healthy": 2, "error": 2}
    assert state.incident_counts == {"error": 2, "healthy": 1}
    families = {f.name: f for f in text_string_to_metric_families(_metrics.render(state, [], now_s=0.0))}
    incidents = {s.labels["result"]: s.value for s in families["ccprompt_incident_probes"].samples}
    assert incidents == {"healthy": 1, "degraded": 0, "error": 2, "unknown": 0}
