"""What Claude Code hands the status line now: rate limits, the prompt cache, the window and its own cost.

Real `ccprompt` runs with payloads shaped like Claude Code 2.1.332's (tests/fixtures/stdin-cc-2.1.332.json)
and a subscriber's `rate_limits`, against the fake API, and what a person would see is checked:
the line, the shell's `CCPROMPT_CACHE`, `sessions` and `postmortem`.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from harness import REPO_ROOT
from harness.sessionfiles import place_transcript

FIXTURES = REPO_ROOT / "tests" / "fixtures"


def payload(**changes) -> dict:
    data = json.loads((FIXTURES / "stdin-cc-2.1.332.json").read_text())
    data.update(changes)
    return data


def configure(env, segments) -> None:
    path = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[statusline]\nsegments = {json.dumps(segments)}\n")


def render(run_cli, env, data, color=False, *args) -> str:
    extra = {"TZ": "UTC"} | ({} if color else {"NO_COLOR": "1"})
    result = run_cli("statusline", *args, input=json.dumps(data), env={**env, **extra})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return result.stdout.rstrip("\n")


def limits(five=None, seven=None, now=None) -> dict:
    """`rate_limits` as subscribers get it: (used %, seconds until the reset) per window."""
    now = time.time() if now is None else now
    out = {}
    for name, spec in (("five_hour", five), ("seven_day", seven)):
        if spec is not None:
            out[name] = {"used_percentage": spec[0], "resets_at": int(now + spec[1])}
    return out


# -- rate_limits ---------------------------------------------------------------------------


def test_the_limits_segment_is_coloured_by_pace(run_cli, cc_env):
    configure(cc_env, ["limits"])
    # 3 of 5 hours gone with 42 % used, 6 of 7 days gone with 81 %: both behind pace, green.
    calm = render(run_cli, cc_env, payload(rate_limits=limits((42, 2 * 3600), (81, 86400))), True)
    assert calm == "\x1b[32m5h 42% · 7d 81%\x1b[0m"
    # 80 % used an hour into the 5-hour window: ahead of pace, yellow.
    ahead = render(run_cli, cc_env, payload(rate_limits=limits((80, 4 * 3600), (20, 5 * 86400))), True)
    assert ahead == "\x1b[33m5h 80% · 7d 20%\x1b[0m"
    # 95 % with half the window left: red.
    assert render(run_cli, cc_env, payload(rate_limits=limits((95, 9000))), True) == "\x1b[31m5h 95%\x1b[0m"
    # A window whose reset has passed says nothing it no longer knows.
    assert render(run_cli, cc_env, payload(rate_limits=limits((100, -60), (30, 3 * 86400)))) == "7d 30%"
    # API-key users get no rate_limits: no segment, no noise.
    assert render(run_cli, cc_env, payload()) == ""


def test_a_used_up_limit_is_named_as_the_cause_of_a_wait(run_cli, cc_env, fake_api, tmp_path):
    assert run_cli("probe", env=cc_env).returncode == 0
    configure(cc_env, ["network"])
    now = time.time()
    resets = int(now + 3600)
    transcript = place_transcript(cc_env, "transcript-ok.jsonl", waiting=True, waiting_s=30)
    data = payload(transcript_path=str(transcript), session_id=transcript.stem,
                   rate_limits={"five_hour": {"used_percentage": 100,
                                                                               "resets_at": resets}})
    shown = render(run_cli, cc_env, data)
    assert shown == f"🔴 5h limit reached · resets {time.strftime('%H:%M', time.gmtime(resets))}"
    explained = " ".join(run_cli("explain", env={**cc_env, "TZ": "UTC"}).stdout.split())
    assert f"5h 100% used (at or near the limit, resets {time.strftime('%H:%M', time.gmtime(resets))})" in explained
    assert f"line 🔴 5h limit reached · resets {time.strftime('%H:%M', time.gmtime(resets))}" in explained
    # Not used up: the wait is the API's, shown as a wait.
    data["rate_limits"]["five_hour"]["used_percentage"] = 60
    assert "limit" not in render(run_cli, cc_env, data)


def test_a_used_up_weekly_limit_explains_a_429(run_cli, cc_env, fake_api):
    fake_api.respond(429, headers={"retry-after": "7"})
    assert run_cli("probe", env=cc_env).returncode == 0  # a 429 answers: yellow
    configure(cc_env, ["network"])
    assert render(run_cli, cc_env, payload()).startswith("🟡 P95:N/A")
    resets = int(time.time() + 3 * 86400)
    data = payload(rate_limits={"five_hour": {"used_percentage": 30, "resets_at": int(time.time()) + 600},
                                "seven_day": {"used_percentage": 100.0, "resets_at": resets}})
    assert render(run_cli, cc_env, data) == f"🔴 7d limit reached · resets {time.strftime('%a %H:%M', time.gmtime(resets))}"
    fake_api.respond(200)
    assert run_cli("probe", env=cc_env).returncode == 0  # answering again, no wait: the limit is not the cause
    assert render(run_cli, cc_env, data).startswith("🟢")


# -- prompt_cache --------------------------------------------------------------------------


def cache(warm=True, left_s=192.0, observed=True, requests=3) -> dict:
    data = json.loads((FIXTURES / "stdin-cc-2.1.332.json").read_text())["prompt_cache"]
    data.update(warm=warm, caching_observed=observed, requests=requests,
                expires_at=None if left_s is None else int(time.time() + left_s + 1))  # as Claude Code rounds: up
    return data


def test_the_cache_segment_counts_down_to_claude_codes_own_expiry(run_cli, cc_env):
    configure(cc_env, ["cache"])
    shown = render(run_cli, cc_env, payload(prompt_cache=cache(left_s=192)))
    assert shown in ("cache 3m12s", "cache 3m11s", "cache 3m10s"), shown
    assert render(run_cli, cc_env, payload(prompt_cache=cache(warm=False, left_s=None))) == "cache cold"
    assert render(run_cli, cc_env, payload(prompt_cache=cache(left_s=-5))) == "cache cold"
    colored = render(run_cli, cc_env, payload(prompt_cache=cache(left_s=30)), True)
    assert colored.startswith("\x1b[33mcache ") and colored.endswith("s\x1b[0m"), colored  # under a minute: yellow
    before_any = cache(warm=False, left_s=None, observed=False, requests=0)
    assert render(run_cli, cc_env, payload(prompt_cache=before_any)) == ""
    # The payload's cache needs no transcript: a missing one does not matter.
    missing = payload(prompt_cache=cache(left_s=100), transcript_path="/nonexistent/t.jsonl")
    assert render(run_cli, cc_env, missing).startswith("cache 1m")


def test_the_shell_cache_variable_comes_from_the_payload(run_cli, cc_env, fake_api):
    init = run_cli("init", "bash", "--no-refresh", "--position", "none", env=cc_env)
    assert init.returncode == 0, init.stderr
    transcript = place_transcript(cc_env, "transcript-ok.jsonl", age_s=5)
    expires = int(time.time() + 250)
    data = payload(transcript_path=str(transcript), prompt_cache={**cache(), "expires_at": expires})
    render(run_cli, cc_env, data)
    written = (Path(cc_env["CCPROMPT_HOME"]) / "prompt-session").read_text().split("\n")
    assert written[3] == str(expires)  # Claude Code's own expiry, not one re-derived from the transcript
    result = subprocess.run(["bash", "--noprofile", "--norc", "-c", init.stdout + "\n__ccprompt_hook; command env"],
                            env=cc_env, capture_output=True, text=True, timeout=30)
    shown = dict(line.split("=", 1) for line in result.stdout.splitlines() if line.startswith("CCPROMPT_CACHE="))
    assert shown["CCPROMPT_CACHE"].startswith("cache 4m"), shown
    data["prompt_cache"] = cache(warm=False, left_s=None)  # cold now: the variable goes
    render(run_cli, cc_env, data)
    assert (Path(cc_env["CCPROMPT_HOME"]) / "prompt-session").read_text().split("\n")[3] == ""


# -- the window and the cost ---------------------------------------------------------------


def test_sessions_and_postmortem_know_the_1m_window_and_take_claude_codes_cost(run_cli, cc_env):
    """2.1.332's Sonnet 5.5 has a 1M window with no `[1m]` suffix: 14,321 tokens are 1.4 %, not 7.2 %."""
    transcript = place_transcript(cc_env, "transcript-cc-2.1.332-529.jsonl", age_s=30)
    rows = json.loads(run_cli("sessions", "--json", "--all", env=cc_env).stdout)["sessions"]
    [row] = [r for r in rows if r["session_id"] == transcript.stem]
    assert row["context_window"] == 1_000_000 and row["context_pct"] == 1.4
    assert row["cost_usd"] == pytest.approx(0.0573, abs=1e-3) and row["cost_source"] == "claude code"  # cost-state
    report = json.loads(run_cli("postmortem", transcript.stem, "--json", env=cc_env).stdout)
    assert report["context_window"] == 1_000_000 and report["cost_usd"] == pytest.approx(0.0573, abs=1e-3)
    text = run_cli("postmortem", transcript.stem, env=cc_env).stdout
    assert "of 1M (1%)" in text.replace("1.0M", "1M") and "Claude Code's own figure" in text


def test_the_window_and_cost_the_status_line_was_given_reach_sessions(run_cli, cc_env):
    transcript = place_transcript(cc_env, "transcript-ok.jsonl", age_s=30)
    data = payload(session_id=transcript.stem, transcript_path=str(transcript),
                   context_window={"context_window_size": 500_000, "total_input_tokens": 1},
                   cost={"total_cost_usd": 12.5})
    render(run_cli, cc_env, data)
    kept = Path(cc_env["CCPROMPT_HOME"]) / "seen" / f"{transcript.stem}.json"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert json.loads(kept.read_text()) == {"window": 500000, "model": "claude-sonnet-5-5", "cost_usd": 12.5}
    rows = json.loads(run_cli("sessions", "--json", "--all", env=cc_env).stdout)["sessions"]
    [row] = [r for r in rows if r["session_id"] == transcript.stem]
    assert row["context_window"] == 500_000 and row["cost_usd"] == 12.5 and row["cost_source"] == "claude code"


@pytest.mark.parametrize("hostile", [
    {"rate_limits": {"five_hour": {"used_percentage": "lots", "resets_at": "soon"}}},
    {"rate_limits": {"five_hour": {"used_percentage": float("1e308") * 10}}},
    {"rate_limits": [1, 2]},
    {"prompt_cache": {"warm": "yes", "expires_at": "\x1b[2Jtomorrow"}},
    {"prompt_cache": {"warm": True, "expires_at": 10**30}},
    {"model": {"id": "claude\x1b]0;x\x07\"},\"window\":1}"}, "cost": {"total_cost_usd": -5}},
])
def test_a_hostile_payload_still_gets_a_sensible_line(run_cli, cc_env, hostile):
    configure(cc_env, ["model", "limits", "cache", "network"])
    text = json.dumps({**payload(), **hostile}).replace("Infinity", "1e999")
    result = run_cli("statusline", input=text, env={**cc_env, "NO_COLOR": "1"})
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.count("\n") == 1 and "\x1b" not in result.stdout and "\x07" not in result.stdout
    for kept in (Path(cc_env["CCPROMPT_HOME"]) / "seen").glob("*.json"):
        assert set(json.loads(kept.read_text())) <= {"window", "model", "cost_usd", "limits", "headroom"}
