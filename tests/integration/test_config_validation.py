"""A bad config, tried as a new user would: commands refuse in one line, the status line still renders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import assert_no_secret


def write_config(env, text: str) -> Path:
    path = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


BAD = [
    ('degraded_factor = "abc"\n', "degraded_factor", "must be a number, not 'abc'"),
    ("green_interval_s = 0\n", "green_interval_s", "must be between 10 and 86400, not 0"),
    ('jsonl_tail_kb = "x"\n', "jsonl_tail_kb", "must be a number, not 'x'"),
    ("anonymous = 1\n", "anonymous", "must be true or false, not 1"),
    ('[statusline]\nsegments = ["model", "weather"]\n', "statusline.segments", "unknown segment 'weather' (known: model, directory, git, context, cost, network, session, cache, incident, limits)"),
    ('[statusline]\nstyle = "loud"\n', "statusline.style", "must be one of icon, short, full, not 'loud'"),
    ('statuspage_url = "status.claude.com"\n', "statuspage_url", "must be an http(s) URL or empty"),
    ("statuspage_url = 5\n", "statuspage_url", "must be a URL or empty, not 5"),
]


@pytest.mark.parametrize("text, key, message", BAD, ids=[b[1] for b in BAD])
def test_probe_refuses_a_bad_value_in_one_line_naming_key_and_file(run_cli, cc_env, fake_api, text, key, message):
    path = write_config(cc_env, text)
    result = run_cli("probe", env=cc_env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"ccprompt: {key} in {path}: {message}\n"
    assert fake_api.request_count == 0


@pytest.mark.parametrize("text, key, message", BAD, ids=[b[1] for b in BAD])
def test_the_status_line_renders_with_the_defaults(run_cli, cc_env, text, key, message):
    write_config(cc_env, text)
    payload = {"session_id": "cfg", "model": {"display_name": "Opus"}, "cost": {"total_duration_ms": 100}}
    result = run_cli("statusline", input=json.dumps(payload), env={**cc_env, "NO_COLOR": "1"})
    assert result.returncode == 0 and result.stderr == ""
    line = result.stdout.strip()
    assert line.startswith("Opus") and "⚪" in line and "Error" not in line


def test_an_environment_value_is_checked_too(run_cli, cc_env, fake_api):
    env = {**cc_env, "CCPROMPT_TIMEOUT_MS": "inf"}
    result = run_cli("probe", env=env)
    assert result.returncode == 2
    assert result.stderr == "ccprompt: timeout_ms in $CCPROMPT_TIMEOUT_MS: must be a number, not 'inf'\n"
    line = run_cli("statusline", input="{}", env=env)
    assert line.returncode == 0 and "⚪" in line.stdout


def test_an_unknown_key_is_a_warning_with_a_suggestion(run_cli, cc_env, fake_api):
    path = write_config(cc_env, 'probe_modle = "claude-haiku-4-5"\n')
    result = run_cli("probe", env=cc_env)
    assert result.returncode == 0
    assert result.stderr == f"ccprompt: warning: unknown key 'probe_modle' in {path} (did you mean 'probe_model'?)\n"


def test_doctor_marks_the_config_and_says_how_to_fix_it(run_cli, cc_env):
    path = write_config(cc_env, 'degraded_factor = "abc"\n')
    result = run_cli("doctor", env=cc_env, timeout=60)
    assert result.returncode == 1
    line = next(line for line in result.stdout.splitlines() if " config " in line)
    assert line.startswith("✗") and "degraded_factor" in line and str(path) in line
    assert_no_secret(result)


def test_a_broken_toml_file_is_one_line_too(run_cli, cc_env):
    path = write_config(cc_env, "broken = = toml\n")
    result = run_cli("probe", env=cc_env)
    assert result.returncode == 2
    assert result.stderr.startswith(f"ccprompt: config in {path}: {path} is not valid TOML")
    assert result.stderr.count("\n") == 1


def test_the_status_page_is_on_by_default_and_an_empty_variable_turns_it_off(run_cli, cc_env):
    env = {k: v for k, v in cc_env.items() if k != "CCPROMPT_STATUSPAGE_URL"}
    shown = json.loads(run_cli("config", "--json", env=env).stdout)["values"]["statuspage_url"]
    assert shown == {"value": "https://status.claude.com", "source": "default"}
    off = json.loads(run_cli("config", "--json", env={**env, "CCPROMPT_STATUSPAGE_URL": ""}).stdout)
    assert off["values"]["statuspage_url"] == {"value": "", "source": "$CCPROMPT_STATUSPAGE_URL"}
    write_config(env, 'statuspage_url = "https://status.example.test"\n')
    mine = json.loads(run_cli("config", "--json", env=env).stdout)["values"]["statuspage_url"]
    assert mine["value"] == "https://status.example.test"
