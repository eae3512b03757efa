"""`ccprompt install statusline` edits Claude Code's settings.json without losing anything."""

from __future__ import annotations

import json
from pathlib import Path


def settings_file(env) -> Path:
    return Path(env["HOME"]) / ".claude" / "settings.json"


def test_merges_into_existing_settings_and_keeps_every_key(run_cli, cc_env):
    path = settings_file(cc_env)
    path.parent.mkdir(parents=True)
    original = {"model": "opus", "permissions": {"allow": ["Bash(ls:*)"]}, "env": {"FOO": "1"},
                "hooks": {"Stop": []}, "statusLine": {"type": "command", "command": "old.sh", "refreshInterval": 3}}
    path.write_text(json.dumps(original, indent=4))
    result = run_cli("install", "statusline", env=cc_env)
    assert result.returncode == 0, result.stderr
    settings = json.loads(path.read_text())
    for key in ("model", "permissions", "env", "hooks"):
        assert settings[key] == original[key]
    line = settings["statusLine"]
    assert line["type"] == "command" and line["padding"] == 0
    assert line["refreshInterval"] == 3  # the user's own interval is kept
    words = line["command"].split()
    assert words[-1] == "statusline" and Path(words[0]).is_absolute()
    backups = list(path.parent.glob("settings.json.ccprompt-*.bak"))
    assert len(backups) == 1 and json.loads(backups[0].read_text()) == original


def test_fresh_install_sets_a_refresh_interval_and_is_idempotent(run_cli, cc_env):
    first = run_cli("install", "statusline", env=cc_env)
    assert first.returncode == 0
    settings = json.loads(settings_file(cc_env).read_text())
    assert settings["statusLine"]["refreshInterval"] == 2
    again = run_cli("install", "statusline", env=cc_env)
    assert again.returncode == 0 and "nothing to change" in again.stdout
    assert json.loads(settings_file(cc_env).read_text()) == settings


def test_the_installed_command_really_renders(run_cli, cc_env):
    import subprocess

    run_cli("install", "statusline", env=cc_env)
    command = json.loads(settings_file(cc_env).read_text())["statusLine"]["command"]
    result = subprocess.run(command, shell=True, input='{"model": {"display_name": "Opus"}}', env=cc_env,
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 0 and result.stdout.startswith("\x1b[36mOpus")


def test_dry_run_changes_nothing(run_cli, cc_env):
    path = settings_file(cc_env)
    path.parent.mkdir(parents=True)
    path.write_text('{"model": "sonnet"}')
    result = run_cli("install", "statusline", "--dry-run", env=cc_env)
    assert result.returncode == 0
    assert "would update" in result.stdout and '"padding": 0' in result.stdout
    assert path.read_text() == '{"model": "sonnet"}'
    assert not list(path.parent.glob("*.bak"))


def test_invalid_json_is_refused_and_left_untouched(run_cli, cc_env):
    path = settings_file(cc_env)
    path.parent.mkdir(parents=True)
    path.write_text('{"model": "sonnet",, }')
    result = run_cli("install", "statusline", env=cc_env)
    assert result.returncode == 1
    assert "not valid JSON" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert path.read_text() == '{"model": "sonnet",, }'


def test_uninstall_removes_only_our_entry(run_cli, cc_env):
    path = settings_file(cc_env)
    path.parent.mkdir(parents=True)
    path.write_text('{"model": "sonnet"}')
    run_cli("install", "statusline", env=cc_env)
    result = run_cli("uninstall", "statusline", env=cc_env)
    assert result.returncode == 0
    assert json.loads(path.read_text()) == {"model": "sonnet"}
    path.write_text('{"statusLine": {"type": "command", "command": "mine.sh"}}')
    untouched = run_cli("uninstall", "statusline", env=cc_env)
    assert "nothing to change" in untouched.stdout
    assert json.loads(path.read_text())["statusLine"]["command"] == "mine.sh"


def test_an_interval_an_earlier_version_wrote_is_brought_up_to_date(run_cli, cc_env):
    """10 s was ccprompt's own default: red came 25 s after the first failure with it."""
    path = settings_file(cc_env)
    path.parent.mkdir(parents=True)
    first = run_cli("install", "statusline", env=cc_env)
    assert first.returncode == 0, first.stderr
    settings = json.loads(path.read_text())
    settings["statusLine"]["refreshInterval"] = 10
    path.write_text(json.dumps(settings))
    again = run_cli("install", "statusline", env=cc_env)
    assert again.returncode == 0, again.stderr
    assert json.loads(path.read_text())["statusLine"]["refreshInterval"] == 2
