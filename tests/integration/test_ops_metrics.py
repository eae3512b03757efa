"""`ccprompt metrics`: parses as Prometheus text and carries the values of the state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness import assert_no_secret


def parse(text: str) -> dict:
    """{(sample name, frozen labels): value}, plus each family's type under ("TYPE", name)."""
    values = {}
    for family in text_string_to_metric_families(text):
        values[("TYPE", family.name)] = family.type
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def test_metrics_carry_the_state_and_the_probe_counts(fake_api, cc_env, run_cli):
    fake_api.respond_sequence([200, 200, 529])
    for _ in range(3):
        run_cli("probe", env=cc_env)
    state = json.loads((Path(cc_env["CCPROMPT_HOME"]) / "monitoring.json").read_text())

    result = run_cli("metrics", env=cc_env)
    assert result.returncode == 0, result.stderr
    m = parse(result.stdout)
    assert m[("ccprompt_up", ())] == 0
    assert m[("ccprompt_status", (("status", "error"),))] == 1
    assert m[("ccprompt_status", (("status", "healthy"),))] == 0
    assert m[("ccprompt_last_http_status", ())] == 529
    for phase, ms in state["network"]["phases_ms"].items():
        assert m[("ccprompt_last_probe_phase_seconds", (("phase", phase),))] == pytest.approx(ms / 1000)
    assert m[("ccprompt_last_probe_timestamp_seconds", ())] == pytest.approx(
        state["monitoring_state"]["last_probe_epoch_ms"] / 1000)
    assert m[("TYPE", "ccprompt_probes")] == "counter"
    assert m[("ccprompt_probes_total", (("result", "healthy"),))] == 2
    assert m[("ccprompt_probes_total", (("result", "error"),))] == 1
    assert m[("ccprompt_probes_total", (("result", "degraded"),))] == 0
    info = [k for k in m if k[0] == "ccprompt_info"][0]
    assert dict(info[1])["endpoint"] == f"{fake_api.url}/v1/messages"
    assert dict(info[1])["source"] == "environment"
    assert ("ccprompt_last_success_timestamp_seconds", ()) in m
    assert_no_secret(result)


def test_p95_and_baseline_follow_the_rolling_samples(fake_api, cc_env, run_cli):
    home = Path(cc_env["CCPROMPT_HOME"])
    home.mkdir(parents=True, mode=0o700)
    state = {"schema": 1, "status": "healthy", "monitoring_enabled": True,
             "api_config": {"endpoint": "https://api.anthropic.com/v1/messages", "source": "shell"},
             "network": {"latency_ms": 420, "phases_ms": {"dns": None, "tcp": None, "tls": None, "ttfb": 400.0,
                                                            "total": 420.0},
                         "reused": {"dns": True, "tcp": True, "tls": True}, "last_http_status": 200,
                         "rolling_totals": [400, 410, 420, 430, 450], "p80_latency_ms": 430, "p95_latency_ms": 450},
             "monitoring_state": {"last_probe_epoch_ms": 1_700_000_000_000},
             "probe_counts": {"healthy": 40, "degraded": 3, "error": 2}}
    (home / "monitoring.json").write_text(json.dumps(state))
    # metrics speaks for the endpoint this environment probes: the one the state is for
    m = parse(run_cli("metrics", env={**cc_env, "ANTHROPIC_BASE_URL": "https://api.anthropic.com"}).stdout)
    assert m[("ccprompt_up", ())] == 1
    assert m[("ccprompt_latency_p95_seconds", ())] == 0.45
    assert m[("ccprompt_latency_p80_seconds", ())] == 0.43
    assert m[("ccprompt_baseline_samples", ())] == 5
    # A reused connection has no DNS/TCP/TLS phase: those series are absent, not zero.
    phases = {dict(k[1])["phase"] for k in m if k[0] == "ccprompt_last_probe_phase_seconds"}
    assert phases == {"ttfb", "total"}
    assert m[("ccprompt_probes_total", (("result", "healthy"),))] == 40


def test_metrics_without_any_state_still_parse(cc_env, run_cli):
    m = parse(run_cli("metrics", env=cc_env).stdout)
    assert m[("ccprompt_status", (("status", "unknown"),))] == 1
    assert m[("ccprompt_up", ())] == 0
    assert m[("ccprompt_probes_total", (("result", "error"),))] == 0


def test_textfile_is_written_atomically_for_node_exporter(fake_api, cc_env, run_cli, tmp_path):
    run_cli("probe", env=cc_env)
    textdir = tmp_path / "textfile_collector"
    textdir.mkdir()
    result = run_cli("metrics", "--textfile", str(textdir), env=cc_env)
    assert result.returncode == 0 and result.stdout == ""
    assert [p.name for p in textdir.iterdir()] == ["ccprompt.prom"]
    prom = textdir / "ccprompt.prom"
    assert oct(prom.stat().st_mode & 0o777) == "0o644"  # node_exporter runs as another user
    m = parse(prom.read_text())
    assert m[("ccprompt_up", ())] == 1
    assert_no_secret(prom)

    missing = run_cli("metrics", "--textfile", str(tmp_path / "nope"), env=cc_env)
    assert missing.returncode == 2 and "is not a directory" in missing.stderr


def attempt(**fields) -> dict:
    return {"kind": "attempt", "method": "POST", "path": "/v1/messages", "outcome": "ok", **fields}


def test_proxy_attempts_are_counted_by_model_status_and_error_type_with_a_ttfb_histogram(cc_env, run_cli):
    home = Path(cc_env["CCPROMPT_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    events = [
        attempt(model_served="claude-sonnet-4-5", status=200, ttfb_first_event_ms=120.0),
        attempt(model_served="claude-sonnet-4-5", status=200, ttfb_first_event_ms=800.0),
        attempt(model_requested="claude-sonnet-4-5", model_served="claude-sonnet-4-5", status=200,
                ttfb_headers_ms=2900.0, ttfb_first_event_ms=3000.0),
        attempt(model_requested="claude-opus-4-1", status=529, error_type="overloaded_error", outcome="error",
                ttfb_headers_ms=40.0),
        attempt(model_requested="claude-opus-4-1", status=529, error_type="overloaded_error", outcome="error"),
        attempt(model_requested="claude-opus-4-1", status=None, error_type="upstream_unreachable",
                outcome="upstream_unreachable"),
        attempt(model_served="claude-opus-4-1", status=500, error_type="a_brand_new_error\n{x=\"y\"}",
                outcome="error"),
        attempt(model_served="claude-haiku", status=200, ttfb_first_event_ms=50.0, probe=True),  # ccprompt's own
        {"kind": "response_start", "status": 529, "model_requested": "claude-opus-4-1"},
        {"kind": "stall", "status": 200},
    ] + [attempt(model_served=f"model-{i:02d}", status=200, ttfb_first_event_ms=5000.0) for i in range(25)]
    lines = [json.dumps(e) for e in events]
    lines.insert(3, "{not json")
    (home / "requests.jsonl").write_text("\n".join(lines) + "\n")
    result = run_cli("metrics", env=cc_env)
    assert result.returncode == 0, result.stderr
    m = parse(result.stdout)

    def attempts(model, status, error_type):
        return m.get(("ccprompt_proxy_attempts_total", (("error_type", error_type), ("model", model),
                                                         ("status", status))))

    assert m[("TYPE", "ccprompt_proxy_attempts")] == "counter"
    assert attempts("claude-sonnet-4-5", "200", "none") == 3
    assert attempts("claude-opus-4-1", "529", "overloaded_error") == 2
    assert attempts("claude-opus-4-1", "0", "upstream_unreachable") == 1
    assert attempts("claude-opus-4-1", "500", "other") == 1
    assert attempts("claude-haiku", "200", "none") is None  # the probe is not a real request
    models = {dict(k[1])["model"] for k in m if k[0] == "ccprompt_proxy_attempts_total"}
    assert len(models) <= 20 + 1 and "other" in models  # label cardinality stays bounded
    assert sum(v for k, v in m.items() if k[0] == "ccprompt_proxy_attempts_total") == 7 + 25

    assert m[("TYPE", "ccprompt_proxy_ttfb_seconds")] == "histogram"

    def bucket(le):
        return m[("ccprompt_proxy_ttfb_seconds_bucket", (("le", le),))]

    assert (bucket("0.1"), bucket("0.25"), bucket("1.0"), bucket("5.0"), bucket("+Inf")) == (0, 1, 2, 28, 28)
    assert m[("ccprompt_proxy_ttfb_seconds_count", ())] == 28
    assert m[("ccprompt_proxy_ttfb_seconds_sum", ())] == pytest.approx(0.12 + 0.8 + 3.0 + 25 * 5.0)
    assert ("ccprompt_up", ()) in m  # the existing families are all still there


def test_without_requests_jsonl_there_are_no_proxy_families(cc_env, run_cli):
    result = run_cli("metrics", env=cc_env)
    assert result.returncode == 0
    assert "ccprompt_proxy_" not in result.stdout


def test_another_endpoints_state_is_not_exported_as_ours(fake_api, cc_env, run_cli):
    run_cli("probe", env=cc_env)  # a real probe of this environment's endpoint
    elsewhere = run_cli("metrics", env={**cc_env, "ANTHROPIC_BASE_URL": "https://gateway.example"})
    m = parse(elsewhere.stdout)
    assert m[("ccprompt_status", (("status", "unknown"),))] == 1  # nothing measured for that endpoint
    assert m[("ccprompt_probes_total", (("result", "healthy"),))] == 0
    ours = parse(run_cli("metrics", env=cc_env).stdout)
    assert ours[("ccprompt_probes_total", (("result", "healthy"),))] == 1
