"""`ccprompt history` over known records, and over probes the CLI really made."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from harness import assert_no_secret

MIN = 60_000


def record(epoch_ms, total, *, status="healthy", http=200, error_type="success", failure_phase=None,
           mode="GREEN", ttfb=None):
    phases = {"dns": 3.0, "tcp": 5.0, "tls": 20.0, "ttfb": ttfb if ttfb is not None else total - 30, "total": total}
    if http == 0:
        phases = {"dns": None, "tcp": None, "tls": None, "ttfb": None, "total": total}
    return {"ts": "", "epoch_ms": epoch_ms, "mode": mode, "status": status, "http_status": http,
            "error_type": error_type, "failure_phase": failure_phase, "phases_ms": phases,
            "endpoint": EXAMPLE + "/v1/messages"}


EXAMPLE = "https://api.example.test"  # the endpoint of the records below


def example_env(cc_env):
    """The records' endpoint is this environment's: `history` shows its own endpoint by default."""
    return {**cc_env, "ANTHROPIC_BASE_URL": EXAMPLE}


def write_history(home: Path, current: list, rotated: list = ()) -> None:
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    (home / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in current))
    if rotated:
        (home / "history.jsonl.1").write_text("".join(json.dumps(r) + "\n" for r in rotated))


def known_period(now_ms):
    """Ten answered probes of 100..1000 ms (oldest four in the rotated file), one DNS failure, one old probe."""
    totals = [300, 100, 200, 400, 500, 700, 600, 900, 1000, 800]
    records = [record(now_ms - (50 - 4 * i) * MIN, float(t)) for i, t in enumerate(totals)]
    failure = record(now_ms - 32 * MIN, 2.5, status="error", http=0, error_type="connection_error",
                     failure_phase="dns")
    records.insert(5, failure)
    old = record(now_ms - 3 * 3600_000, 5000.0)  # outside --since 1h
    return [old] + records[:4], records[4:]


def test_history_shows_sparkline_percentiles_error_rate_and_table(cc_env, run_cli):
    home = Path(cc_env["CCPROMPT_HOME"])
    rotated, current = known_period(int(time.time() * 1000))
    write_history(home, current, rotated)

    result = run_cli("history", "--since", "1h", env=example_env(cc_env))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"11 probes for {EXAMPLE}/v1/messages in the last 1h"
    # 300 100 200 400 500 × 700 600 900 1000 800, scaled from 100 ms (▁) to 1000 ms (█)
    assert lines[1] == "▃▁▂▃▄×▆▅▇█▆   100ms … 1000ms   (× no answer)"
    # nearest rank over the ten answered probes: P50 is the 5th smallest, P95 the 10th
    assert lines[2] == "P50 500ms   P95 1000ms   errors 1 of 11 regular (9.1%)"
    header = lines[4]
    assert re.match(r"TIME\s+PROBE\s+STATUS\s+HTTP\s+ERROR\s+TOTAL\s+SLOWEST", header)
    rows = lines[5:]
    assert len(rows) == 11
    assert re.search(r"baseline\s+🟢 healthy\s+200\s+-\s+300ms\s+TTFB 270ms$", rows[0])
    assert re.search(r"baseline\s+🔴 error\s+-\s+connection_error \(dns\)\s+2ms\s+-$", rows[5])
    assert "5000ms" not in result.stdout  # the probe from 3 h ago is outside the period


def test_history_json_and_since_all(cc_env, run_cli):
    home = Path(cc_env["CCPROMPT_HOME"])
    rotated, current = known_period(int(time.time() * 1000))
    write_history(home, current, rotated)

    result = run_cli("history", "--since", "all", "--json", env=example_env(cc_env))
    document = json.loads(result.stdout)
    assert document["probes"] == 12 and document["answered"] == 11 and document["errors"] == 1
    assert document["p50_ms"] == 600 and document["p95_ms"] == 5000
    assert document["since_s"] is None
    assert [r["epoch_ms"] for r in document["records"]] == sorted(r["epoch_ms"] for r in document["records"])


def test_history_limit_keeps_the_newest_rows_but_all_figures(cc_env, run_cli):
    home = Path(cc_env["CCPROMPT_HOME"])
    rotated, current = known_period(int(time.time() * 1000))
    write_history(home, current, rotated)
    result = run_cli("history", "--limit", "3", env=example_env(cc_env))
    lines = result.stdout.splitlines()
    assert lines[2].startswith("P50 500ms")
    assert [line.split()[-3] for line in lines[5:8]] == ["900ms", "1000ms", "800ms"]
    assert lines[-1] == "(the last 3 of 11; --limit 0 shows all)"


def test_history_of_real_probes_and_bad_input(fake_api, cc_env, run_cli):
    endpoint = fake_api.url + "/v1/messages"
    assert f"no probes recorded for {endpoint} in the last 1h" in run_cli("history", env=cc_env).stdout
    fake_api.respond_sequence([200, 529])
    run_cli("probe", env=cc_env)
    run_cli("probe", env=cc_env)
    home = Path(cc_env["CCPROMPT_HOME"])
    with open(home / "history.jsonl", "a") as handle:
        handle.write('{"torn": \n')  # a crash mid-line costs that line only
    result = run_cli("history", env=cc_env)
    assert result.returncode == 0
    assert f"2 probes for {endpoint} in the last 1h" in result.stdout
    assert re.search(r"manual\s+🟢 healthy\s+200", result.stdout)
    assert re.search(r"manual\s+🔴 error\s+529\s+overloaded_error", result.stdout)
    assert "errors 1 of 2 regular (50.0%)" in result.stdout
    assert_no_secret(result, home)

    bad = run_cli("history", "--since", "yesterday", env=example_env(cc_env))
    assert bad.returncode == 2 and "not a duration" in bad.stderr and bad.stdout == ""


def test_only_this_endpoints_probes_and_incident_probes_apart(cc_env, run_cli):
    home = Path(cc_env["CCPROMPT_HOME"])
    now = int(time.time() * 1000)
    elsewhere = dict(record(now - 5 * MIN, 250.0), endpoint="https://gateway.example/v1/messages")
    incident = [record(now - (20 - i) * MIN, 2.0, status="error", http=529, error_type="overloaded_error",
                       mode="RED") for i in range(6)]
    write_history(home, [record(now - 30 * MIN, 400.0), *incident, record(now - 2 * MIN, 420.0), elsewhere])

    mine = run_cli("history", env=example_env(cc_env)).stdout.splitlines()
    assert mine[0] == (f"8 probes for {EXAMPLE}/v1/messages in the last 1h: 2 regular, 6 follow-ups "
                       "(after trouble: a failure, a waiting turn, a slow answer)")
    # the six RED probes came every 10 s of an outage: the error rate is over the regular ones
    assert mine[2] == "P50 400ms   P95 420ms   errors 0 of 2 regular (0.0%), 6 of 6 follow-ups"
    assert re.search(r"follow-up\s+🔴 error\s+529", "\n".join(mine))  # never `RED` or `CALIBRAT`
    every = run_cli("history", "--all-endpoints", "--json", env=example_env(cc_env))
    document = json.loads(every.stdout)
    assert document["endpoint"] == "all" and document["probes"] == 9 and document["incident_probes"] == 6
