"""A newcomer's first hour: help and errors on every path, install shell, config, explain,
snippets, the status line kept or reduced to one segment, and the wiring when nothing can be probed."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from ccprompt.cli import table
from harness import REPO_ROOT

# -- help and errors: one style everywhere (defects 8 and 9, and -h everywhere) ----------------


@pytest.mark.parametrize("argv", [[], ["install"], ["uninstall"], ["--help"], ["-h"]])
def test_a_bare_command_or_group_prints_help_and_exits_0(run_cli, cc_env, argv):
    result = run_cli(*argv, env=cc_env)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("Usage: ccprompt")
    assert "╭" not in result.stdout and "<bool>" not in result.stdout


@pytest.mark.parametrize("argv, message", [
    (["bogus"], "ccprompt: No such command 'bogus'. See 'ccprompt --help'.\n"),
    (["instal"], "ccprompt: No such command 'instal'. Did you mean 'install'? See 'ccprompt --help'.\n"),
    (["install", "shel"], "ccprompt: No such command 'install shel'. Did you mean 'shell'? "
                          "See 'ccprompt install --help'.\n"),
    (["watch", "--interval", "x"], "ccprompt: Invalid value for '--interval': 'x' is not a valid float.\n"),
    (["watch", "--interval", "0"], "ccprompt: Invalid value for '--interval': 0.0 is not in the range x>=1.0.\n"),
    (["install", "shell", "--bogus"], "ccprompt: No such option: --bogus\n"),
    (["install", "shell", "tcsh"], "ccprompt: unsupported shell 'tcsh'; ccprompt supports bash, zsh and fish\n"),
    (["history", "--limit"], "ccprompt: Option '--limit' requires an argument.\n"),
    (["--frobnicate"], "ccprompt: No such option: --frobnicate\n"),
])
def test_every_usage_error_is_one_plain_line_and_exit_2(run_cli, cc_env, argv, message):
    result = run_cli(*argv, env=cc_env)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message)


@pytest.mark.parametrize("command", table.COMMANDS, ids=lambda c: c.name)
def test_every_command_has_help_for_h_and_help_listing_each_option(run_cli, cc_env, command):
    short = run_cli(*command.words, "-h", env={**cc_env, "COLUMNS": "80"})
    assert short.returncode == 0 and short.stderr == ""
    assert run_cli(*command.words, "--help", env={**cc_env, "COLUMNS": "80"}).stdout == short.stdout
    text = short.stdout
    assert text.startswith(f"Usage: ccprompt {command.name}")
    for param in command.params:
        for flag in param.flags:
            assert (flag in text) != param.hidden, flag
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    assert not any("  " in line.strip() and not line.startswith("  ") for line in lines)
    assert "<bool>" not in text and "BOOLEAN" not in text
    # The description is wrapped, never cut: its words all come back in order.
    first = command.help.split("\n\n")[0]
    assert " ".join(first.split()) in " ".join(text.split())


def test_the_version_is_on_the_fast_path_without_typer(cc_env):
    from harness import run_python

    for flag in ("-V", "--version"):
        result = run_python("-X", "importtime", "-m", "ccprompt", flag, env=cc_env)
        assert result.stdout.startswith("ccprompt ") and result.returncode == 0
        assert "typer" not in result.stderr and "click" not in result.stderr


@pytest.mark.parametrize("argv", [["--help"], ["history"], ["metrics"], ["install", "statusline", "--dry-run"],
                                  ["install", "shell", "bash", "--dry-run"], ["doctor", "--help"], ["config"],
                                  ["explain"], ["completions", "zsh"]])
def test_cold_commands_import_neither_typer_nor_rich(cc_env, argv):
    from harness import run_python

    result = run_python("-X", "importtime", "-m", "ccprompt", *argv, env=cc_env)
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time")}
    assert not imported & {"typer", "click", "rich", "pydantic"}, sorted(imported & {"typer", "click", "rich"})


# -- install shell: --position, --style and the line the docs tell you to add (defect 4) --------

def rc(env, name=".zshrc") -> Path:
    return Path(env["HOME"]) / name


def test_install_shell_recognises_the_init_line_a_user_added(run_cli, cc_env):
    rc(cc_env).write_text('export EDITOR=vi\neval "$(ccprompt init zsh --position right)"\n')
    result = run_cli("install", "shell", "zsh", env=cc_env)
    assert result.returncode == 0 and "already loads ccprompt (line 2" in result.stdout
    assert rc(cc_env).read_text() == 'export EDITOR=vi\neval "$(ccprompt init zsh --position right)"\n'
    other = run_cli("install", "shell", "zsh", "--position", "left", env=cc_env)
    assert other.returncode == 1 and "add --position left to that line yourself" in other.stderr
    assert "# >>> ccprompt" not in rc(cc_env).read_text()


def test_install_shell_takes_position_and_style_and_keeps_them_on_reinstall(run_cli, cc_env):
    first = run_cli("install", "shell", "bash", "--position", "right", "--style", "full", env=cc_env)
    assert first.returncode == 0
    assert " init bash --position right --style full)\"" in rc(cc_env, ".bashrc").read_text()
    again = run_cli("install", "shell", "bash", env=cc_env)
    assert "nothing to change" in again.stdout  # not silently back to the default `left`
    run_cli("install", "shell", "bash", "--style", "icon", env=cc_env)
    assert " init bash --position right --style icon)\"" in rc(cc_env, ".bashrc").read_text()
    fish = run_cli("install", "shell", "fish", "--position", "title", env=cc_env)
    assert fish.returncode == 0
    assert " init fish --position title | source" in (Path(cc_env["XDG_CONFIG_HOME"]) / "fish" / "config.fish").read_text()


def test_uninstall_shell_names_an_init_line_it_leaves(run_cli, cc_env):
    rc(cc_env).write_text('eval "$(ccprompt init zsh)"\n')
    result = run_cli("uninstall", "shell", "zsh", env=cc_env)
    assert result.returncode == 0
    assert "line 1 still loads ccprompt" in result.stdout


# -- nothing can be probed: the line says why, once (defects 2 and 3) ---------------------------

def write_config(env, text):
    path = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def decisions(env):
    log = Path(env["CCPROMPT_HOME"]) / "debug.log"
    records = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [r for r in records if r.get("event") == "decision"]


def wait_idle(env, timeout=10.0):
    """Until a detached refresh has written its verdict."""
    deadline = time.monotonic() + timeout
    state = Path(env["CCPROMPT_HOME"]) / "monitoring.json"
    while time.monotonic() < deadline and not state.exists():
        time.sleep(0.05)
    time.sleep(0.2)


def test_no_credential_with_anonymous_off_says_so_and_stops_spawning(run_cli, cc_env, fake_api):
    env = {k: v for k, v in cc_env.items() if k != "ANTHROPIC_API_KEY"}
    env.update(CCPROMPT_DEBUG="1", NO_COLOR="1")
    write_config(env, "anonymous = false\n")
    run_cli("statusline", env=env, input="{}")
    wait_idle(env)
    lines = [run_cli("statusline", env=env, input="{}").stdout for _ in range(4)]
    assert all(line.strip().endswith("Env vars NOT Found") for line in lines), lines
    spawned = [d for d in decisions(env) if d.get("spawned")]
    assert len(spawned) == 1  # the first redraw; then a retry every 30 s at most, not on each one
    assert fake_api.request_count == 0


def test_monitoring_off_is_named_as_such_by_probe_and_the_line(run_cli, cc_env, fake_api):
    write_config(cc_env, "monitoring_enabled = false\n")
    probe = run_cli("probe", env=cc_env)
    assert probe.returncode == 2
    assert probe.stderr == "ccprompt: no probe made: monitoring is off (monitoring_enabled = false in the config)\n"
    assert "ANTHROPIC_API_KEY" not in probe.stderr and "anonymous" not in probe.stderr
    assert "monitoring off" in run_cli("statusline", env={**cc_env, "NO_COLOR": "1"}, input="{}").stdout
    assert fake_api.request_count == 0


# -- small things (defect 9) ---------------------------------------------------------------------

def test_probe_json_has_no_success_error_type_and_no_float_noise(run_cli, cc_env, fake_api):
    result = run_cli("probe", "--json", env=cc_env)
    assert result.returncode == 0, result.stderr
    assert '"error_type": "success"' not in result.stdout
    for number in __import__("re").findall(r"-?\d+\.\d+", result.stdout):
        assert len(number.split(".")[1]) <= 3, number


def test_a_base_url_that_is_not_a_url_is_not_called_a_dns_failure(run_cli, cc_env, fake_api):
    result = run_cli("probe", env={**cc_env, "ANTHROPIC_BASE_URL": "notaurl"})
    assert result.returncode == 2
    assert "is not an http(s) URL" in result.stderr and "DNS" not in result.stderr


def test_watch_once_does_not_promise_a_next_probe(run_cli, cc_env, fake_api):
    result = run_cli("watch", "--once", env=cc_env)
    assert result.returncode == 0, result.stderr
    assert "next probe" not in result.stdout + result.stderr


# -- config and config check ---------------------------------------------------------------------

def test_config_shows_each_value_with_its_source(run_cli, cc_env):
    path = write_config(cc_env, "green_interval_s = 120\n[watch]\ninterval_s = 60\n")
    result = run_cli("config", env={**cc_env, "CCPROMPT_TIMEOUT_MS": "2500"})
    assert result.returncode == 0
    assert result.stdout.startswith(f"config file: {path}\n")
    rows = {line.split()[0]: line.split()[-1] for line in result.stdout.splitlines()[2:] if line.strip()}
    assert rows["green_interval_s"] == "file" and rows["watch.interval_s"] == "file"
    assert rows["timeout_ms"] == "$CCPROMPT_TIMEOUT_MS" and rows["probe_model"] == "default"
    shown = json.loads(run_cli("config", "--json", env=cc_env).stdout)
    assert shown["file"] == str(path) and shown["values"]["watch.interval_s"] == {"value": 60.0, "source": str(path)}


def test_config_check_validates_with_did_you_mean(run_cli, cc_env):
    assert run_cli("config", "check", env=cc_env).returncode == 0
    path = write_config(cc_env, 'probe_modle = "x"\n[watch]\ninterval_s = 0\n')
    result = run_cli("config", "check", env=cc_env)
    assert result.returncode == 2
    assert f"unknown key 'probe_modle' in {path} (did you mean 'probe_model'?)" in result.stdout
    assert f"watch.interval_s in {path}: must be between 1 and 86400, not 0" in result.stdout


def test_the_config_reference_lists_every_key_with_its_default():
    from ccprompt.commands.config import _shown
    from ccprompt.core.config import KEYS

    doc = (REPO_ROOT / "docs" / "config.md").read_text()
    for key in KEYS:
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{key.name}` ")), None)
        assert row is not None, key.name
        assert f"`{_shown(key.default)}`" in row, (key.name, row)
        if key.env:
            assert f"`{key.env}`" in row
    assert "[watch]" in doc


# -- explain ---------------------------------------------------------------------------------------

def test_explain_says_why_on_one_screen(run_cli, cc_env, fake_api):
    assert run_cli("probe", "--count", "4", "--interval", "0", env=cc_env).returncode == 0
    projects = Path(cc_env["HOME"]) / ".claude" / "projects" / "demo"
    projects.mkdir(parents=True)
    transcript = projects / "s1.jsonl"
    transcript.write_text((Path(__file__).parents[1] / "fixtures" / "transcript-ok.jsonl").read_text())
    result = run_cli("explain", env={**cc_env, "COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) <= 24
    names = [line.split()[0] for line in lines if line and not line.startswith(" ")]
    for name in ("line", "shown", "last", "verdict", "rule", "proxy", "session", "next"):
        assert name in names, name
    text = result.stdout
    assert "🟢" in text and "calibration probe" in text and "HTTP 200" in text
    assert "usual" in text and "250 ms slower" in text
    # Between baselines, the next is a path check (DNS, TCP, TLS) 20 s after the probe.
    assert str(transcript) in text and re.search(r"next probe   in 1\ds \(path check", text), text
    assert all(len(line) <= 100 or str(transcript) in line for line in lines)  # a path is never cut
    facts = json.loads(run_cli("explain", "--json", env=cc_env).stdout)
    assert facts["shown"].startswith("healthy")


# -- snippets ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, needle", [("starship", "[custom.ccprompt]"), ("tmux", "status-right"),
                                          ("posix", "ccprompt"), ("watch.service", "ExecStart="),
                                          ("proxy.service", "ExecStart="), ("watch.plist", "<plist"),
                                          ("proxy.plist", "<plist")])
def test_each_snippet_prints(run_cli, cc_env, name, needle):
    result = run_cli("snippet", name, env=cc_env)
    assert result.returncode == 0 and needle in result.stdout


# -- the status line for other status lines ------------------------------------------------------

def test_statusline_segment_network_prints_only_that_segment(run_cli, cc_env, fake_api):
    run_cli("probe", env=cc_env)
    payload = json.dumps({"model": {"display_name": "Opus"}, "workspace": {"current_dir": "/tmp"}})
    result = run_cli("statusline", "--segment", "network", env={**cc_env, "NO_COLOR": "1"}, input=payload)
    assert result.returncode == 0 and result.stdout.startswith("🟢 ") and "Opus" not in result.stdout
    assert result.stdout.count("\n") == 1 and "|" not in result.stdout
    model = run_cli("statusline", "--segment", "model", env={**cc_env, "NO_COLOR": "1"}, input=payload)
    assert model.stdout == "Opus\n"


def test_install_statusline_keep_wraps_the_users_command_and_uninstall_restores_it(run_cli, cc_env, fake_api,
                                                                                    tmp_path):
    theirs = tmp_path / "their-line.sh"
    theirs.write_text('#!/bin/sh\nread -r json\necho "mine: ${#json} bytes"\necho "second line"\n')
    theirs.chmod(0o755)
    settings = Path(cc_env["HOME"]) / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    original = {"type": "command", "command": shlex.quote(str(theirs)), "padding": 1}
    settings.write_text(json.dumps({"model": "opus", "statusLine": original}))
    result = run_cli("install", "statusline", "--keep", env=cc_env)
    assert result.returncode == 0 and "still runs, with ccprompt's segment appended" in result.stdout
    entry = json.loads(settings.read_text())["statusLine"]
    assert entry["command"].endswith(" statusline --keep")
    run_cli("probe", env=cc_env)
    # What Claude Code does: run the command with the session JSON on stdin.
    shown = subprocess.run(entry["command"], shell=True, env={**cc_env, "NO_COLOR": "1"}, input='{"a": 1}\n',
                           capture_output=True, text=True, timeout=30, cwd=REPO_ROOT)
    first, second = shown.stdout.splitlines()
    assert first.startswith("mine: 8 bytes | 🟢 ") and second == "second line"
    assert run_cli("uninstall", "statusline", env=cc_env).returncode == 0
    assert json.loads(settings.read_text())["statusLine"] == original
