"""Keyless users get the truth, not a key lecture: a subscription login (Claude Code's credential
store is there) or a key that only an `apiKeyHelper` gives. ccprompt checks that the store exists and
never reads it, never runs the helper, and says what that means in `doctor`, `explain` and `probe`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import REPO_ROOT, assert_no_secret
from test_ops_doctor import lines_of

SUBSCRIPTION_SECRET = "sk-ant-oat01-ccprompt-test-SUBSCRIPTION-SECRET-0123456789"
WORDS = "overload and limits are read from your sessions; `ccprompt run claude` sees every request"


def keyless(env) -> dict:
    env = dict(env)
    del env["ANTHROPIC_API_KEY"]
    return env


def plant_store(directory: Path) -> Path:
    """Claude Code's credential file as /login leaves it, holding the test's secret."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ".credentials.json"
    path.write_text(json.dumps({"claudeAiOauth": {"accessToken": SUBSCRIPTION_SECRET,
                                                  "refreshToken": SUBSCRIPTION_SECRET + "-refresh",
                                                  "subscriptionType": "max"}}))
    path.chmod(0o600)
    return path


def everything(env, run_cli) -> list:
    """doctor, explain and probe in each form, as a keyless user runs them."""
    done = {argv: run_cli(*argv, env=env) for argv in (("explain",), ("doctor",), ("doctor", "--json"), ("probe",),
                                                      ("probe", "--verbose"), ("probe", "--json"))}
    after = run_cli("explain", env=env)  # now with a probe to explain
    return [done[("doctor",)], done[("doctor", "--json")], done[("explain",)], after, done[("probe",)],
            done[("probe", "--verbose")], done[("probe", "--json")]]


def test_a_subscriber_is_told_where_overload_comes_from_and_doctor_passes(fake_api, cc_env, run_cli):
    env = keyless(cc_env)
    fake_api.respond(status=401)  # the API's edge, to a probe without a key
    store = plant_store(Path(env["HOME"]) / ".claude")
    doctor, doctor_json, explain, explained, probe, verbose, as_json = everything(env, run_cli)

    mark, detail, fix = lines_of(doctor)["credential"]
    assert mark == "✓" and fix is None, doctor.stdout
    assert f"subscription login: {WORDS}" in detail and "~/.claude/.credentials.json (not read)" in detail
    assert "export" not in doctor.stdout  # no key lecture anywhere
    assert doctor.returncode == 0, doctor.stdout
    credential = next(c for c in json.loads(doctor_json.stdout)["checks"] if c["id"] == "credential")
    assert credential["level"] == "ok" and credential["data"]["login"] == "subscription"

    assert f"sign-in subscription login: {WORDS} (~/.claude/.credentials.json (not read))" \
        in " ".join(explain.stdout.split()), explain.stdout
    assert f"anonymous: subscription login: {WORDS}" in " ".join(explained.stdout.split()), explained.stdout
    assert probe.returncode == 0 and probe.stdout.splitlines()[-1] == f"subscription login: {WORDS}"
    assert re.search(r"credential\s+none \(anonymous probe\): subscription login: overload", verbose.stdout)
    assert json.loads(as_json.stdout)["login"] == "subscription"
    # No probe carried anything of it: the requests had no credential at all.
    posts = [r for r in fake_api.requests if r.method == "POST"]
    assert posts and not any(r.header("authorization") or r.header("x-api-key") for r in posts)
    files = [p for p in Path(env["HOME"]).rglob("*") if p.is_file() and p != store]  # every file ccprompt wrote
    assert any(p.name == "monitoring.json" for p in files)
    for place in (doctor, doctor_json, explain, explained, probe, verbose, as_json, *files):
        for secret in (SUBSCRIPTION_SECRET, "SUBSCRIPTION-SECRET"):
            assert_no_secret(place, secret=secret)
    assert store.read_text().count(SUBSCRIPTION_SECRET) == 2  # left as it was


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is installed by .ci/run")
def test_the_credential_store_is_only_ever_stat_ed_never_opened(fake_api, cc_env, tmp_path):
    env = keyless(cc_env)
    fake_api.respond(status=401)
    store = plant_store(Path(env["HOME"]) / ".claude")
    for argv in (["doctor"], ["explain"], ["probe", "--verbose"]):
        log = tmp_path / "trace"
        result = subprocess.run(["strace", "-f", "-qq", "-o", str(log), "-e", "trace=%file,%desc",
                                 sys.executable, "-m", "ccprompt", *argv], env=env, cwd=REPO_ROOT,
                                capture_output=True, text=True, timeout=60)
        assert "subscription login" in result.stdout, (argv, result.stdout, result.stderr)
        calls = [line for line in log.read_text().splitlines() if str(store) in line]
        assert calls, "the store was never even looked at: the test would prove nothing"
        opened = [line for line in calls if re.search(r"\bopen(at2?)?\(", line)]
        assert not opened, opened
        assert all(re.search(r"\b(new)?f?stat(at|x)?(64)?\(|\bstatx\(", line) for line in calls), calls


def test_claude_config_dir_is_where_claude_code_keeps_the_store(fake_api, cc_env, run_cli, tmp_path):
    env = keyless(cc_env)
    fake_api.respond(status=401)
    elsewhere = tmp_path / "claude-config"
    plant_store(elsewhere)
    without = run_cli("doctor", env=env)
    assert lines_of(without)["credential"][0] == "!"  # ~/.claude holds nothing: still the old warning
    within = run_cli("doctor", env={**env, "CLAUDE_CONFIG_DIR": str(elsewhere)})
    mark, detail, _ = lines_of(within)["credential"]
    assert mark == "✓" and "subscription login" in detail and str(elsewhere / ".credentials.json") in detail


def test_an_api_key_helper_is_never_run_and_its_user_is_keyless(fake_api, cc_env, run_cli, tmp_path):
    env = keyless(cc_env)
    fake_api.respond(status=401)
    ran = tmp_path / "the-helper-ran"
    settings = Path(env["HOME"]) / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"apiKeyHelper": f"touch {ran}; echo {SUBSCRIPTION_SECRET}"}))
    doctor, _, explain, explained, probe, verbose, as_json = everything(env, run_cli)
    mark, detail, fix = lines_of(doctor)["credential"]
    assert mark == "✓" and fix is None
    assert f"apiKeyHelper, which ccprompt never runs, so its probe is anonymous: {WORDS}" in detail
    assert "apiKeyHelper" in explain.stdout and "apiKeyHelper" in explained.stdout and "apiKeyHelper" in probe.stdout
    assert json.loads(as_json.stdout)["login"] == "helper"
    assert not ran.exists()  # never run, not even once
    posts = [r for r in fake_api.requests if r.method == "POST"]
    assert posts and not any(r.header("x-api-key") or r.header("authorization") for r in posts)
    for place in (doctor, explain, explained, probe, verbose, as_json, Path(env["CCPROMPT_HOME"])):
        assert_no_secret(place, secret=SUBSCRIPTION_SECRET)


def test_a_key_still_wins_and_nothing_is_said_about_a_login(fake_api, cc_env, run_cli):
    plant_store(Path(cc_env["HOME"]) / ".claude")
    probe = run_cli("probe", env=cc_env)
    assert probe.returncode == 0 and "subscription" not in probe.stdout
    assert fake_api.last_request.header("x-api-key")  # the user's own key, as before


def test_a_subscriber_who_turned_anonymous_probing_off_is_told_the_one_fix(fake_api, cc_env, run_cli):
    env = keyless(cc_env)
    plant_store(Path(env["HOME"]) / ".claude")
    config = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("anonymous = false\n")
    mark, detail, fix = lines_of(run_cli("doctor", env=env))["credential"]
    assert mark == "✗" and "subscription login" in detail and "anonymous = false" in detail
    assert fix.startswith("set anonymous = true") and "export" not in fix
