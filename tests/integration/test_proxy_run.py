"""`run` finds or starts a supervised proxy, survives `kill -9` of it, and falls back to direct when it must.

These drive real processes: the launcher, the detached supervisor and the server it keeps alive.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from harness import TEST_KEY, assert_no_secret, make_cli_env, refused_port, run_python
from harness.proxyrun import request
from harness.sseapi import SSEUpstream, message_stream

from ccprompt.sources.proxy import supervisor
from ccprompt.sources.proxy.upstream import Upstream

# The command under `run`: one streaming request to wherever ANTHROPIC_BASE_URL points, then exit 3.
CLIENT = r"""
import http.client, json, os, ssl, sys, urllib.parse
base = urllib.parse.urlsplit(os.environ["ANTHROPIC_BASE_URL"])
if base.scheme == "https":
    conn = http.client.HTTPSConnection(base.hostname, base.port,
                                       context=ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"]))
else:
    conn = http.client.HTTPConnection(base.hostname, base.port)
conn.request("POST", base.path.rstrip("/") + "/v1/messages?beta=true", body=b'{"model":"m","stream":true}',
             headers={"x-api-key": os.environ["ANTHROPIC_API_KEY"], "content-type": "application/json"})
reply = conn.getresponse()
print(json.dumps({"base_url": os.environ["ANTHROPIC_BASE_URL"], "status": reply.status,
                  "body": reply.read().decode()}))
sys.exit(3)
"""


@pytest.fixture
def upstream(tls_ca):
    with SSEUpstream(tls_ca) as api:
        yield api


@pytest.fixture
def env(tmp_path, upstream):
    environment = make_cli_env(tmp_path, upstream.url + "/prefix", upstream.ca_file)
    yield environment
    home = Path(environment["CCPROMPT_HOME"])
    for state in home.glob("proxy-*.json") if home.is_dir() else ():
        stop_supervisor(json.loads(state.read_text())["pid"])


def stop_supervisor(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def launch(env, *command, home=None):
    return run_python("-m", "ccprompt.sources.proxy.launch", "--home", home or env["CCPROMPT_HOME"],
                      "--upstream", env["ANTHROPIC_BASE_URL"], "--ca-file", env["SSL_CERT_FILE"], "--", *command,
                      env=env, timeout=60)


def proc_file(pid: int, name: str) -> bytes:
    return Path(f"/proc/{pid}/{name}").read_bytes()


def test_run_starts_a_proxy_once_and_the_command_goes_through_it(env, upstream):
    first = launch(env, sys.executable, "-c", CLIENT)
    assert first.returncode == 3, first.stderr
    assert first.stderr == ""
    reply = json.loads(first.stdout)
    assert reply["base_url"].startswith("http://127.0.0.1:")
    assert reply["status"] == 200 and reply["body"] == b"".join(message_stream()).decode()
    assert upstream.seen[0].path == "/prefix/v1/messages?beta=true"  # the prefix, once, added by the proxy

    second = launch(env, sys.executable, "-c", CLIENT)
    assert second.returncode == 3 and json.loads(second.stdout)["base_url"] == reply["base_url"]
    home = Path(env["CCPROMPT_HOME"])
    assert len(list(home.glob("proxy-*.json"))) == 1

    port = int(reply["base_url"].rsplit(":", 1)[1])
    health = supervisor.check_health(port, home=env["CCPROMPT_HOME"])
    state = json.loads(next(home.glob("proxy-*.json")).read_text())
    for pid in (state["pid"], health["pid"]):  # the key never travels in argv, nor into the proxy at all
        assert TEST_KEY.encode() not in proc_file(pid, "cmdline")
        assert TEST_KEY.encode() not in proc_file(pid, "environ")
    events = [json.loads(line) for line in (home / "requests.jsonl").read_text().splitlines()]
    assert [e["status"] for e in events if e["kind"] == "attempt"] == [200, 200]
    assert_no_secret(home)


def test_kill_9_of_the_server_costs_at_most_a_second_on_the_same_port(env, upstream):
    first = launch(env, sys.executable, "-c", CLIENT)
    port = int(json.loads(first.stdout)["base_url"].rsplit(":", 1)[1])
    before = supervisor.check_health(port, home=env["CCPROMPT_HOME"])
    os.kill(before["pid"], signal.SIGKILL)
    killed_at = time.monotonic()
    got = request("127.0.0.1", port, body=b'{"model":"m"}', headers=[("x-api-key", TEST_KEY)], timeout=10)
    elapsed = time.monotonic() - killed_at
    assert got.status == 200 and got.body == b"".join(message_stream())
    assert elapsed < 1.5, f"the replacement server took {elapsed:.2f}s"
    after = supervisor.check_health(port, home=env["CCPROMPT_HOME"])
    assert after["pid"] != before["pid"] and after["port"] == port


def test_a_nested_run_uses_the_proxy_it_is_already_behind(env, upstream):
    outer = json.loads(launch(env, sys.executable, "-c", CLIENT).stdout)["base_url"]
    nested = launch({**env, "ANTHROPIC_BASE_URL": outer}, sys.executable, "-c", CLIENT)
    assert nested.returncode == 3 and nested.stderr == ""
    assert json.loads(nested.stdout)["base_url"] == outer and json.loads(nested.stdout)["status"] == 200
    assert len(upstream.seen) == 2


def test_a_dead_proxy_is_replaced_on_the_port_sessions_still_point_at(env, upstream):
    home = Path(env["CCPROMPT_HOME"])
    home.mkdir(parents=True)
    key = Upstream(env["ANTHROPIC_BASE_URL"], ca_file=env["SSL_CERT_FILE"]).key()
    remembered = refused_port()
    (home / f"proxy-{key}.json").write_text(json.dumps({"pid": 999999, "port": remembered, "upstream_key": key}))
    result = launch(env, sys.executable, "-c", CLIENT)
    assert result.returncode == 3, result.stderr
    assert json.loads(result.stdout)["base_url"] == f"http://127.0.0.1:{remembered}"


def test_without_a_proxy_the_command_runs_direct_and_one_line_says_so(env, upstream, tmp_path):
    unusable = tmp_path / "not-a-directory"
    unusable.write_text("")
    result = launch(env, sys.executable, "-c", CLIENT, home=str(unusable / "home"))
    assert result.returncode == 3
    reply = json.loads(result.stdout)
    assert reply["base_url"] == env["ANTHROPIC_BASE_URL"] and reply["status"] == 200
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ccprompt: proxy unavailable (")
    assert lines[0].endswith("running python3 directly") or "directly" in lines[0]
    assert_no_secret(result)


def test_a_missing_command_is_reported_not_raised(env):
    result = launch(env, "/nonexistent/ccprompt-test-command")
    assert result.returncode == 127
    assert "cannot run /nonexistent/ccprompt-test-command" in result.stderr


def test_ccprompt_run_takes_the_upstream_ca_and_prefix_the_probe_would_use(env, upstream):
    """The command line itself: options after the command are the command's, and `--` is optional."""
    result = run_python("-m", "ccprompt", "run", sys.executable, "-c", CLIENT, "--ignored-by-the-client",
                        env=env, timeout=60)
    assert result.returncode == 3, result.stderr
    reply = json.loads(result.stdout)
    assert reply["base_url"].startswith("http://127.0.0.1:") and reply["status"] == 200
    assert upstream.seen[-1].path == "/prefix/v1/messages?beta=true"
    again = run_python("-m", "ccprompt", "run", "--", sys.executable, "-c", CLIENT, env=env, timeout=60)
    assert json.loads(again.stdout)["base_url"] == reply["base_url"]
    # The upstream comes from the credential chain, here Claude Code's settings.json.
    settings = Path(env["HOME"]) / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"env": {"ANTHROPIC_BASE_URL": env["ANTHROPIC_BASE_URL"]}}))
    from_settings = {k: v for k, v in env.items() if k != "ANTHROPIC_BASE_URL"}
    third = run_python("-m", "ccprompt", "run", sys.executable, "-c", CLIENT, env=from_settings, timeout=60)
    assert json.loads(third.stdout)["base_url"] == reply["base_url"], third.stderr
    assert_no_secret(result, again, third, Path(env["CCPROMPT_HOME"]))


def test_ccprompt_proxy_runs_in_the_foreground_and_stops_cleanly(env, upstream):
    import subprocess

    home = Path(env["CCPROMPT_HOME"])
    process = subprocess.Popen([sys.executable, "-m", "ccprompt", "proxy"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        url = line.split()[2]
        assert line.startswith("ccprompt proxy: http://127.0.0.1:") and line.rstrip().endswith(
            f"-> {upstream.url}/prefix"), line
        port = int(url.rsplit(":", 1)[1])
        deadline = time.monotonic() + 10
        while supervisor.check_health(port, home=env["CCPROMPT_HOME"]) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        got = request("127.0.0.1", port, body=b'{"model":"m"}', headers=[("x-api-key", TEST_KEY)])
        assert got.status == 200 and got.body == b"".join(message_stream())
        assert len(list(home.glob("proxy-*.json"))) == 1  # `run` finds it
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(10)
    assert code == 0
    assert not list(home.glob("proxy-*.json"))
    assert_no_secret(home, process.stderr.read())
