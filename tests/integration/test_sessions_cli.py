"""`ccprompt sessions` and `ccprompt postmortem` on transcripts shaped like Claude Code's, as a user runs them."""

from __future__ import annotations

import json
import time

from harness import assert_no_secret
from harness.sessionfiles import (place_transcript, reply, tool_result, transcript_path, user_prompt,
                                  write_entries)

LOOPER = "9a1b2c3d-0000-4000-8000-00000000000a"


def loop_session(env, now):
    """A session that edits the same file again and again, then re-sends its cache after a long idle."""
    entries = [user_prompt(now - 900, LOOPER, "fix /home/you/secret-project/auth.py please")]
    t = now - 895
    for i in range(5):
        entries.append(reply(t, LOOPER, input_tokens=5, cache_read=60_000 + i * 500, cache_write=500,
                             tools=[("Edit", {"file_path": "/home/you/secret-project/auth.py",
                                              "old_string": "TOPSECRET", "new_string": "x"})]))
        entries.append(tool_result(t + 2, LOOPER))
        t += 5
    entries.append(reply(t, LOOPER, input_tokens=5, cache_read=63_000, cache_write=300))
    entries.append(user_prompt(now - 300, LOOPER, "and now the tests"))
    entries.append(reply(now - 290, LOOPER, input_tokens=5, cache_read=0, cache_write=63_500))
    return write_entries(transcript_path(env, LOOPER, "-home-you-secret-project"), entries)


def test_sessions_lists_every_column_with_those_needing_attention_first(cc_env, run_cli):
    fine = place_transcript(cc_env, "transcript-ok.jsonl", age_s=120)
    place_transcript(cc_env, "transcript-cc-2.1.197-529.jsonl", waiting=True, waiting_s=45)
    place_transcript(cc_env, "transcript-529.jsonl", age_s=30)
    old = place_transcript(cc_env, "transcript-ok.jsonl", age_s=5 * 3600)
    result = run_cli("sessions", env={**cc_env, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["PROJECT", "SESSION", "MODEL", "LAST", "STATE", "CTX", "TURNS", "TOOLS", "ERR",
                                "CACHE", "COST"]
    states = [line.split()[4] for line in lines[1:]]
    assert states == ["errored", "waiting", "idle"], result.stdout
    assert "waiting 45s" in lines[2] or "waiting 46s" in lines[2]
    everything = run_cli("sessions", "--all", "--json", env=cc_env)
    rows = json.loads(everything.stdout)["sessions"]
    assert len(rows) == 4 and old.stem in [r["session_id"] for r in rows]
    ok = next(r for r in rows if r["session_id"] == fine.stem)
    assert ok["turns"] == 2 and ok["context_pct"] == 26.4 and ok["cache_hit_ratio"] == 0.985
    assert ok["cache_left_s"] is not None and ok["cost_usd"] > 0
    bad = run_cli("sessions", "--since", "yesterday", env=cc_env)
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_sessions_shows_the_proxy_route_and_rate_limit_headroom(cc_env, run_cli):
    from pathlib import Path

    path = place_transcript(cc_env, "transcript-cc-2.1.197-529.jsonl", age_s=10)
    state = Path(cc_env["CCPROMPT_HOME"])
    state.mkdir(parents=True, exist_ok=True)
    event = {"kind": "attempt", "ts": time.time() - 11, "session_id": path.stem, "attempt": 1, "status": 200,
             "model_requested": "claude-opus-4-8", "model_served": "claude-sonnet-4-5-20250929", "outcome": "ok",
             "tools": {"count": 2}, "ratelimit": {"tokens": {"remaining": 300, "limit": 1000}}}
    (state / "requests.jsonl").write_text(json.dumps(event) + "\n")
    result = run_cli("sessions", env={**cc_env, "COLUMNS": "200"})
    assert "ROUTE" in result.stdout and "opus→sonnet" in result.stdout and "30%" in result.stdout


def test_postmortem_is_redacted_deterministic_and_names_the_cause(cc_env, run_cli):
    now = time.time()
    loop_session(cc_env, now)
    first = run_cli("postmortem", "last", env=cc_env)
    assert first.returncode == 0, first.stderr
    report = first.stdout
    assert report == run_cli("postmortem", LOOPER[:8], env=cc_env).stdout  # the same every time
    assert "## Likely cause" in report and "## Timeline" in report and "## Tool loops" in report
    assert "cache expired after a 10-minute idle; this turn re-sent 64K tokens" in report
    assert "| Edit | auth.py#" in report and "| 5 | 5 |" in report
    for secret in ("TOPSECRET", "/home/you", "fix ", "and now the tests", "secret-project/"):
        assert secret not in report, secret
    document = json.loads(run_cli("postmortem", "--json", env=cc_env).stdout)
    assert document["tool_loops"][0]["count"] == 5 and document["turns"] == 2
    assert_no_secret(first)


def test_postmortem_of_the_real_529_session(cc_env, run_cli):
    path = place_transcript(cc_env, "transcript-cc-2.1.197-529.jsonl", age_s=60)
    result = run_cli("postmortem", path.stem, env=cc_env)
    assert result.returncode == 0, result.stderr
    assert "529 server_error" in result.stdout and "retried for 3m03s, then failed" in result.stdout
    assert "the reply came 2m30s after the request" in result.stdout
    missing = run_cli("postmortem", "nosuchsession", env=cc_env)
    assert missing.returncode == 1 and "no session matches" in missing.stderr


def test_postmortem_of_the_real_2_1_332_storm_counts_claude_code_s_attempts(cc_env, run_cli):
    path = place_transcript(cc_env, "transcript-cc-2.1.332-529.jsonl", age_s=60)
    result = run_cli("postmortem", path.stem, env=cc_env)
    assert result.returncode == 0, result.stderr
    assert "529 overloaded_error; Claude Code gave up on this turn after 11 attempts" in result.stdout, result.stdout
    listed = run_cli("sessions", "--all", "--json", env=cc_env)
    assert listed.returncode == 0, listed.stderr
    assert "Prompt during the overload" not in listed.stdout + result.stdout  # numbers, never content
