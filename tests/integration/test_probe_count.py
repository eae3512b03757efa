"""`ccprompt probe --count N`: like ping -c, and the answers calibrate the baseline at once."""

from __future__ import annotations

import json
from pathlib import Path

from harness import assert_no_secret


def test_count_prints_a_line_per_probe_and_a_summary(run_cli, cc_env, fake_api):
    result = run_cli("probe", "--count", "5", "--interval", "0", env={**cc_env, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:5]] == [f"probe {n}" for n in range(1, 6)]
    assert all("🟢 HTTP 200" in line and "Total:" in line for line in lines[:5])
    summary = lines[5]
    assert summary.startswith("--- 5 probes, 0 errors · min ") and "median" in summary and "P95" in summary
    assert summary.endswith("kept as baseline samples")
    assert fake_api.request_count == 5
    state = json.loads((Path(cc_env["CCPROMPT_HOME"]) / "monitoring.json").read_text())
    assert len(state["network"]["rolling_totals"]) == 5
    assert state["network"]["p95_latency_ms"] > 0  # calibrated: the status line shows P95 at once
    assert run_cli("status", env={**cc_env, "NO_COLOR": "1"}).stdout.startswith("🟢 P95:")
    assert_no_secret(result, Path(cc_env["CCPROMPT_HOME"]))


def test_count_json_is_one_object_per_line(run_cli, cc_env, fake_api):
    fake_api.respond_sequence([200, 529, 200])
    result = run_cli("probe", "--count", "3", "--interval", "0", "--json", env=cc_env)
    assert result.returncode == 0  # something answered
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert [r["status"] for r in records] == ["healthy", "error", "healthy"]
    assert all(set(r["phases_ms"]) == {"dns", "tcp", "tls", "ttfb", "total"} for r in records)
    assert records[0]["error_type"] is None and records[1]["error_type"] == "overloaded_error"


def test_count_with_nothing_answering_exits_1(run_cli, cc_env, fake_api):
    fake_api.respond(status=529)
    result = run_cli("probe", "--count", "2", "--interval", "0", env={**cc_env, "NO_COLOR": "1"})
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "--- 2 probes, 2 errors · no answers"


def test_count_out_of_range_is_a_usage_error(run_cli, cc_env, fake_api):
    result = run_cli("probe", "--count", "0", env=cc_env)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "ccprompt: Invalid value for '--count': 0 is not in the range 1<=x<=1000.\n"
    assert fake_api.request_count == 0
