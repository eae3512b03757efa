"""`ccprompt metrics --serve` scraped by a real Prometheus; session gauges with bounded labels."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness import REPO_ROOT
from harness.sessionfiles import place_transcript, reply, transcript_path, user_prompt, write_entries

PROMETHEUS = shutil.which("prometheus") or ("/usr/bin/prometheus" if shutil.os.path.exists("/usr/bin/prometheus")
                                            else None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def samples(text: str) -> dict:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def start_serving(env, port, *extra):
    process = subprocess.Popen([sys.executable, "-m", "ccprompt", "metrics", "--serve", f"127.0.0.1:{port}", *extra],
                               env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
                return process, answer.read().decode()
        except OSError:
            assert process.poll() is None, process.communicate()[1]
            time.sleep(0.1)
    process.kill()
    raise AssertionError("metrics --serve never answered")


def stop(process) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def test_session_gauges_are_by_project_and_model_never_by_session(cc_env, run_cli):
    now = time.time()
    place_transcript(cc_env, "transcript-cc-2.1.197-529.jsonl", waiting=True, project_dir="-home-you-src-app")
    place_transcript(cc_env, "transcript-ok.jsonl", age_s=60, project_dir="-home-you-src-api")
    sid = "5e55a1d0-0000-4000-8000-000000000001"
    write_entries(transcript_path(cc_env, sid, "-home-you-src-api"), [
        user_prompt(now - 30, sid), reply(now - 25, sid, input_tokens=10, cache_read=170_000, cache_write=2000)])
    result = run_cli("metrics", env=cc_env)
    assert result.returncode == 0, result.stderr
    m = samples(result.stdout)
    assert m[("ccprompt_sessions", (("state", "waiting"),))] == 1
    assert m[("ccprompt_sessions", (("state", "idle"),))] == 2
    # The project is the session's working directory name (all three ran in an `app`).
    assert m[("ccprompt_sessions_active", (("model", "opus-4-8"), ("project", "app")))] == 2
    assert m[("ccprompt_sessions_active", (("model", "sonnet-4-5"), ("project", "app")))] == 1
    assert m[("ccprompt_session_context_ratio_max", (("model", "opus-4-8"), ("project", "app")))] == \
        pytest.approx(172_010 / 200_000)
    assert ("ccprompt_up", ()) in m  # the probe families are still there
    assert 'session="' not in result.stdout and sid not in result.stdout
    by_session = samples(run_cli("metrics", "--by-session", env=cc_env).stdout)
    assert by_session[("ccprompt_session_context_ratio", (("session", sid),))] == pytest.approx(0.86005)


def test_serve_answers_and_stops_cleanly_on_sigterm(cc_env):
    port = free_port()
    process, text = start_serving(cc_env, port)
    assert ("ccprompt_up", ()) in samples(text)
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/elsewhere", timeout=2)
    assert missing.value.code == 404
    assert stop(process) == 0
    assert "serving http://127.0.0.1:" in process.stderr.read()


def test_a_bad_address_is_a_usage_error(cc_env, run_cli):
    result = run_cli("metrics", "--serve", "nowhere:port", env=cc_env)
    assert result.returncode == 2 and "--serve" in result.stderr


@pytest.mark.skipif(PROMETHEUS is None, reason="the prometheus binary is not installed (Debian: apt-get install prometheus)")
def test_a_real_prometheus_scrapes_serve_and_answers_queries(cc_env, tmp_path):
    place_transcript(cc_env, "transcript-cc-2.1.197-529.jsonl", waiting=True)
    port, web = free_port(), free_port()
    serving, _ = start_serving(cc_env, port)
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
                      f"  - job_name: ccprompt\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
    prometheus = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                   f"--web.listen-address=127.0.0.1:{web}"],
                                  stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "w"))
    try:
        found = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(found) < 2:
            for query in ("ccprompt_up", 'ccprompt_sessions{state="waiting"}'):
                try:
                    url = f"http://127.0.0.1:{web}/api/v1/query?query={urllib.parse.quote(query)}"
                    with urllib.request.urlopen(url, timeout=2) as answer:
                        result = json.load(answer)["data"]["result"]
                except (OSError, ValueError, KeyError):
                    result = []
                if result:
                    found[query] = result
            time.sleep(0.5)
        assert "ccprompt_up" in found, (tmp_path / "prometheus.log").read_text()[-2000:]
        assert found["ccprompt_up"][0]["metric"]["job"] == "ccprompt"
        assert found['ccprompt_sessions{state="waiting"}'][0]["value"][1] == "1"
    finally:
        prometheus.send_signal(signal.SIGTERM)
        try:
            prometheus.wait(timeout=20)
        except subprocess.TimeoutExpired:
            prometheus.kill()
        assert stop(serving) == 0
