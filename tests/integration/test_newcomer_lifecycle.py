"""A lifecycle a newcomer can follow: a fresh install says what to run, `run claude` without
Claude Code says how to get it, and uninstalling lists what it leaves; `--purge` removes
ccprompt's own leftovers and nothing of the user's."""

from __future__ import annotations

import json
import os
from pathlib import Path


def test_status_on_a_fresh_install_says_what_to_run(run_cli, cc_env):
    result = run_cli("status", env={**cc_env, "NO_COLOR": "1"})
    # Before: `⚪ no probe yet` and nothing else.
    assert result.returncode == 0 and result.stdout == "⚪ no probe yet\n"  # stdout stays one line for scripts
    assert "run `ccprompt probe`" in result.stderr and "ccprompt doctor" in result.stderr


def test_run_claude_without_claude_code_says_how_to_get_it(run_cli, cc_env, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run_cli("run", "claude", "--version", env={**cc_env, "PATH": str(empty)})
    # Before: `ccprompt run: cannot run claude: No such file or directory`, after starting a proxy.
    assert result.returncode == 127 and result.stdout == ""
    assert result.stderr == ("ccprompt run: Claude Code (claude) is not on PATH: install it with "
                             "`npm install -g @anthropic-ai/claude-code`, or give its path: "
                             "ccprompt run /path/to/claude\n")
    assert not (Path(cc_env["CCPROMPT_HOME"]) / "proxy").exists()  # no proxy started for nothing


def wire_everything(run_cli, env):
    for argv in (["install", "statusline"], ["install", "statusline", "--keep"], ["install", "mcp"],
                 ["uninstall", "mcp"], ["install", "mcp"], ["install", "shell", "zsh"], ["install", "shell", "bash"]):
        done = run_cli(*argv, env=env)
        assert done.returncode == 0, (argv, done.stderr)


def test_uninstall_all_lists_what_it_leaves_and_purge_removes_only_ccpromptss_own(run_cli, cc_env):
    env = {**cc_env, "SHELL": "/bin/zsh"}
    home = Path(env["HOME"])
    (home / ".bashrc").write_text("alias ll='ls -l'\n")  # the user's own file
    config = home / ".config" / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("timeout_ms = 3000\n")
    wire_everything(run_cli, env)
    run_cli("probe", env=env)

    result = run_cli("uninstall", "all", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # Before: the backups, the .claude.json backup and the empty rc files stayed without a word.
    assert "left behind, ccprompt's own (`ccprompt uninstall all --purge` removes them):" in out
    assert out.count("a backup ccprompt made of settings.json") >= 2
    assert out.count("a backup ccprompt made of .claude.json") >= 2
    assert "~/.zshrc" in out and "~/.profile" in out and "created by ccprompt, empty now" in out
    assert "~/.bashrc" not in out  # the user's file, not ccprompt's
    assert "~/.claude/ccprompt " in out
    assert "kept, yours:\n  ~/.config/ccprompt/config.toml  your configuration" in out

    dry = run_cli("uninstall", "all", "--purge", "--dry-run", env=env)
    assert "would remove (dry run):" in dry.stdout and (home / ".zshrc").exists()

    purged = run_cli("uninstall", "all", "--purge", env=env)
    assert purged.returncode == 0, purged.stderr
    assert "removed ccprompt's own leftovers:" in purged.stdout
    left = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    assert left == [".bashrc", ".config/ccprompt/config.toml"], left
    assert (home / ".bashrc").read_text() == "alias ll='ls -l'\n"  # untouched, its block removed


def test_purge_keeps_a_file_ccprompt_created_once_it_holds_more(run_cli, cc_env):
    env = {**cc_env, "SHELL": "/bin/zsh"}
    home = Path(env["HOME"])
    assert run_cli("install", "mcp", env=env).returncode == 0
    claude_json = home / ".claude.json"
    document = json.loads(claude_json.read_text())
    document["numStartups"] = 3  # Claude Code wrote to it since
    claude_json.write_text(json.dumps(document))
    result = run_cli("uninstall", "all", "--purge", env=env)
    assert result.returncode == 0, result.stderr
    assert claude_json.exists() and json.loads(claude_json.read_text()) == {"mcpServers": {}, "numStartups": 3}
    assert "~/.claude.json  created by ccprompt, but it holds more now: yours to keep" in result.stdout


def test_nothing_wired_nothing_left(run_cli, cc_env):
    result = run_cli("uninstall", "all", env={**cc_env, "SHELL": "/bin/zsh"})
    assert result.returncode == 0
    assert "nothing of ccprompt's own is left behind" in result.stdout
    assert not os.path.exists(cc_env["CCPROMPT_HOME"])
