"""`ccprompt sessions` over a real proxy: Claude-Code-shaped requests through the proxy to a TLS upstream,
then the table shows what only the proxy can see: the model that actually answered."""

from __future__ import annotations

import json
from pathlib import Path

from harness.proxyrun import ProxyThread, request
from harness.sessionfiles import place_transcript
from harness.sseapi import Script, SSEUpstream, json_script, message_stream

from ccprompt.sources.proxy.upstream import Upstream

OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def send(proxy, session_id: str, model: str, retry: int = 0):
    body = json.dumps({"model": model, "stream": True, "tools": [{"name": "Bash"}], "messages": []}).encode()
    headers = [("User-Agent", "claude-cli/2.1.197 (external, cli)"), ("X-Claude-Code-Session-Id", session_id),
               ("X-Stainless-Retry-Count", str(retry)), ("Content-Type", "application/json"),
               ("x-api-key", "sk-ant-test-not-a-real-key")]
    return request("127.0.0.1", proxy.port, "/v1/messages?beta=true", body=body, headers=headers)


def test_the_table_shows_the_model_that_answered_as_seen_by_the_proxy(cc_env, run_cli, tls_ca):
    home = Path(cc_env["CCPROMPT_HOME"])
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    transcript = place_transcript(cc_env, "transcript-ok.jsonl", age_s=10)
    session_id = transcript.stem
    with SSEUpstream(tls_ca) as api:
        api.script(json_script(OVERLOADED, status=529), json_script(OVERLOADED, status=529),
                   Script(chunks=message_stream(model="claude-sonnet-4-5")))
        with ProxyThread(Upstream(api.url, ca_file=api.ca_file), events_path=str(home / "requests.jsonl")) as proxy:
            statuses = [send(proxy, session_id, "claude-opus-4-8", retry).status for retry in range(3)]
    assert statuses == [529, 529, 200]
    attempts = [json.loads(line) for line in (home / "requests.jsonl").read_text().splitlines()
                if json.loads(line).get("kind") == "attempt"]
    assert [a["status"] for a in attempts] == [529, 529, 200]

    result = run_cli("sessions", "--json", "--all", env=cc_env)
    assert result.returncode == 0, result.stderr
    [row] = [r for r in json.loads(result.stdout)["sessions"] if r["session_id"] == session_id]
    assert row["model_requested"] == "claude-opus-4-8" and row["model_served"] == "claude-sonnet-4-5"
    assert row["route_mismatch"] is True
    table = run_cli("sessions", "--all", env={**cc_env, "COLUMNS": "220"})
    assert "opus→sonnet" in table.stdout


def test_subscribers_rate_limits_from_the_status_line_reach_the_table(cc_env, run_cli):
    from harness import REPO_ROOT

    payload = json.loads((REPO_ROOT / "tests" / "fixtures" / "stdin-full.json").read_text())
    transcript = place_transcript(cc_env, "transcript-ok.jsonl", age_s=10, session_id=payload["session_id"])
    payload["transcript_path"] = str(transcript)
    assert run_cli("statusline", input=json.dumps(payload), env=cc_env).returncode == 0
    state_dir = Path(cc_env["CCPROMPT_HOME"])
    kept = sorted((state_dir / "seen").iterdir())
    assert len(kept) == 1 and kept[0].stat().st_mode & 0o777 == 0o600
    before = kept[0].stat().st_mtime_ns
    run_cli("statusline", input=json.dumps(payload), env=cc_env)
    assert kept[0].stat().st_mtime_ns == before  # an unchanged payload: nothing written again

    rows = json.loads(run_cli("sessions", "--json", "--all", env=cc_env).stdout)["sessions"]
    [row] = [r for r in rows if r["session_id"] == payload["session_id"]]
    assert row["ratelimit_headroom"] == 0.625  # the 5-hour window is 37.5 % used
