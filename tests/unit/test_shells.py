"""`ccprompt init` options, the script it renders, its cache, and the rc-file block."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from ccprompt.core.paths import PROMPT_FILE, executable_words, package_parent
from ccprompt.surfaces.shell import init as shells
from ccprompt.surfaces.shell import rcfile
from ccprompt.surfaces.shell.quote import fish_quote, posix_quote, quote_for


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A throwaway HOME and CCPROMPT_HOME, as a new user would have them."""
    user_home = tmp_path / "home"
    user_home.mkdir()
    monkeypatch.setenv("HOME", str(user_home))
    monkeypatch.setenv("CCPROMPT_HOME", str(user_home / ".claude" / "ccprompt"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user_home / ".config"))
    monkeypatch.delenv("ZDOTDIR", raising=False)
    monkeypatch.delenv("CCPROMPT_CONFIG", raising=False)
    return user_home


# -- command line ------------------------------------------------------------------------


def parse_init_args(argv):
    from ccprompt.cli import fast, table

    command, _ = table.find(["init"])
    return fast.parse(command, argv)


def test_defaults_are_left_short_with_refresh():
    options = parse_init_args(["zsh"])
    assert {k: options[k] for k in ("shell", "position", "style", "no_refresh")} == {
        "shell": "zsh", "position": "left", "style": "short", "no_refresh": False}


@pytest.mark.parametrize("argv", [
    ["--position", "right", "fish", "--style", "full", "--no-refresh"],
    ["fish", "--position=right", "--style=full", "--no-refresh"],
])
def test_options_go_before_or_after_the_shell_in_either_spelling(argv):
    options = parse_init_args(argv)
    assert (options["shell"], options["position"], options["style"], options["no_refresh"]) == (
        "fish", "right", "full", True)


def test_no_shell_named_leaves_detection_for_later():
    assert parse_init_args(["--style", "icon"])["shell"] is None


@pytest.mark.parametrize("argv, message", [
    (["tcsh"], "unsupported shell 'tcsh'; ccprompt supports bash, zsh and fish"),
    (["bash", "zsh"], "unexpected extra argument (zsh)"),
    (["bash", "--position", "top"], "'top' is not one of 'left', 'right', 'title', 'none'"),
    (["bash", "--style=huge"], "'huge' is not one of 'icon', 'short', 'full'"),
    (["bash", "--style"], "Option '--style' requires an argument"),
    (["bash", "--colour"], "No such option: --colour"),
])
def test_bad_command_lines_are_usage_errors_with_one_clear_line(argv, message):
    from ccprompt.core.errors import UsageError

    with pytest.raises(UsageError) as caught:
        parse_init_args(argv)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_init_call_says_so_on_stderr_only(capsys):
    from ccprompt.entry import main

    assert main(["init", "powershell"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "ccprompt: unsupported shell 'powershell'; ccprompt supports bash, zsh and fish\n"
    assert err.count("\n") == 1


# -- the executable the hook runs ----------------------------------------------------------


def test_a_console_script_named_ccprompt_is_embedded_by_absolute_path(tmp_path, monkeypatch):
    launcher = tmp_path / "bin" / "ccprompt"
    launcher.parent.mkdir()
    launcher.write_text("#!/bin/sh\n")
    monkeypatch.chdir(tmp_path)
    assert executable_words("bin/ccprompt") == [str(launcher)]


@pytest.mark.parametrize("argv0", ["/nonexistent/ccprompt", "/usr/bin/pytest", "-c", ""])
def test_otherwise_the_interpreter_runs_the_module(argv0):
    words = executable_words(argv0)
    assert words[-4:] == [sys.executable, "-P", "-m", "ccprompt"]  # -P: never from the current directory
    if len(words) > 4:  # a source checkout: the package is found through PYTHONPATH
        assert words[1] == f"PYTHONPATH={package_parent()}"
        assert os.path.basename(words[0]) == "env"


# -- quoting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["/usr/local/bin/ccprompt", "PYTHONPATH=/a/b", "-m"])
def test_plain_words_stay_bare(word):
    assert posix_quote(word) == word
    assert fish_quote(word) == word


def test_awkward_words_are_single_quoted_for_each_shell():
    word = "/opt/my app/it's $HOME\\bin"
    assert posix_quote(word) == "'/opt/my app/it'\\''s $HOME\\bin'"
    assert fish_quote(word) == "'/opt/my app/it\\'s $HOME\\\\bin'"


# -- rendering -------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_the_script_embeds_executable_cache_and_interval(shell, tmp_path):
    exe = ["/opt/cc prompt/bin/ccprompt"]
    script = shells.render_script(shell, "left", "full", True, 120, exe, str(tmp_path / "state"))
    assert quote_for(shell)(exe[0]) in script
    assert quote_for(shell)(str(tmp_path / "state" / PROMPT_FILE)) in script
    assert "120" in script
    assert f"ccprompt init {shell} --position left --style full" in script
    assert "refresh </dev/null" in script


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_features_that_are_off_leave_a_marker(shell, tmp_path):
    script = shells.render_script(shell, "none", "icon", False, 300, ["ccprompt"], str(tmp_path))
    assert script.count("# -- not configured --") >= 2
    assert "refresh </dev/null" not in script


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_every_name_the_script_defines_carries_the_prefix(shell, tmp_path):
    import re

    script = shells.render_script(shell, "left", "short", True, 300, ["ccprompt"], str(tmp_path))
    if shell == "fish":
        names = re.findall(r"^\s*function (\S+)", script, re.M)
    else:
        names = re.findall(r"^\s*(\w+)\(\) \{", script, re.M)
    assert names
    assert all(name.startswith("__ccprompt_") for name in names), names


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_the_last_lines_say_how_to_install(shell, tmp_path):
    script = shells.render_script(shell, "left", "short", True, 300, ["ccprompt"], str(tmp_path))
    tail = script.rstrip("\n").splitlines()[-6:]
    assert any(f"ccprompt init {shell}" in line for line in tail)
    assert tail[-1] == f"# or let ccprompt add it: ccprompt install shell {shell}"


def test_the_fallback_for_a_missing_cache_is_the_unknown_segment(tmp_path):
    script = shells.render_script("bash", "left", "full", True, 300, ["ccprompt"], str(tmp_path))
    assert "segment='⚪ no probe yet'" in script


# -- the init cache --------------------------------------------------------------------------


def test_init_renders_once_then_serves_the_cached_script(home):
    first = shells.init_script("zsh", "right", "full", True)
    cache_dir = home / ".claude" / "ccprompt" / "init"
    cached = cache_dir / "zsh-right-full-r"
    assert cached.exists()
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    raw = cached.read_bytes()
    assert raw.startswith(shells.CACHE_MAGIC.encode())
    assert raw.endswith(first.encode())
    # Serve from the cache: make the cached copy recognisable and ask again.
    header, _, body = raw.partition(b"\n")
    cached.write_bytes(header + b"\n" + body + b"# served from the cache\n")
    assert shells.init_script("zsh", "right", "full", True).endswith("# served from the cache\n")


def test_a_changed_config_renders_again(home):
    assert "__ccprompt_interval=300" in shells.init_script("bash")
    config = home / ".config" / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[prompt]\nrefresh_interval_s = 60\n")
    assert "__ccprompt_interval=60" in shells.init_script("bash")


def test_a_cache_for_other_settings_is_not_used(home):
    shells.init_script("fish")
    cached = home / ".claude" / "ccprompt" / "init" / "fish-left-short-r"
    header, _, body = cached.read_bytes().partition(b"\n")
    cached.write_bytes(header.replace(b"fish", b"fisk") + b"\n# stale\n")
    script = shells.init_script("fish")
    assert "# stale" not in script
    assert "function __ccprompt_hook --on-event fish_prompt" in script


def test_an_unwritable_state_directory_still_prints_the_script(home, monkeypatch):
    blocker = home / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("CCPROMPT_HOME", str(blocker / "ccprompt"))  # nothing can be created here
    assert "__ccprompt_hook" in shells.init_script("bash")
    assert "__ccprompt_hook" in shells.init_script("bash")


@pytest.mark.parametrize("value, expected", [(5, 300), (60, 60), (10**9, 300), ("soon", 300)])
def test_refresh_interval_out_of_range_falls_back_to_the_default(home, value, expected):
    config = home / ".config" / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True)
    rendered = f'"{value}"' if isinstance(value, str) else str(value)
    config.write_text(f"[prompt]\nrefresh_interval_s = {rendered}\n")
    assert shells.intervals()[0] == expected


# -- install shell / uninstall shell ---------------------------------------------------------


def test_install_appends_a_marked_block_to_the_rc_file(home, capsys):
    rc = home / ".zshrc"
    rc.write_text("export EDITOR=vim")  # no final newline
    assert rcfile.install_shell("zsh") == 0
    text = rc.read_text()
    assert text.startswith("export EDITOR=vim\n\n# >>> ccprompt >>>\n")
    assert text.endswith("# <<< ccprompt <<<\n")
    assert rcfile.init_line("zsh") in text
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and f"added the ccprompt block to {rc}" in out


def test_install_is_idempotent(home, capsys):
    assert rcfile.install_shell("bash") == 0
    once = (home / ".bashrc").read_text()
    assert rcfile.install_shell("bash") == 0
    assert (home / ".bashrc").read_text() == once
    assert "nothing to change" in capsys.readouterr().out.splitlines()[-1]


def test_install_updates_an_outdated_block_in_place(home):
    rc = home / ".bashrc"
    rc.write_text("alias ll='ls -l'\n# >>> ccprompt >>>\neval \"$(old/ccprompt init bash)\"\n# <<< ccprompt <<<\nexport A=1\n")
    assert rcfile.install_shell("bash") == 0
    text = rc.read_text()
    assert "old/ccprompt" not in text
    assert text.startswith("alias ll='ls -l'\n# >>> ccprompt >>>\n")
    assert text.endswith("# <<< ccprompt <<<\nexport A=1\n")
    assert text.count(">>> ccprompt >>>") == 1


def test_fish_goes_to_config_fish_created_with_its_directory(home):
    assert rcfile.install_shell("fish") == 0
    config = home / ".config" / "fish" / "config.fish"
    assert config.read_text().splitlines()[2].endswith("init fish | source")


def test_zdotdir_is_respected(home, monkeypatch, tmp_path):
    monkeypatch.setenv("ZDOTDIR", str(tmp_path / "zdot"))
    assert rcfile.install_shell("zsh") == 0
    assert (tmp_path / "zdot" / ".zshrc").exists()
    assert not (home / ".zshrc").exists()


def test_a_symlinked_rc_file_stays_a_symlink_and_keeps_its_mode(home, tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "bashrc"
    real.write_text("# mine\n")
    real.chmod(0o640)
    (home / ".bashrc").symlink_to(real)
    assert rcfile.install_shell("bash") == 0
    assert (home / ".bashrc").is_symlink()
    assert ">>> ccprompt >>>" in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_dry_run_shows_the_block_and_writes_nothing(home, capsys):
    assert rcfile.install_shell("zsh", dry_run=True) == 0
    assert not (home / ".zshrc").exists()
    out = capsys.readouterr().out
    assert "would add the ccprompt block to" in out
    assert rcfile.init_line("zsh") in out


def test_uninstall_removes_exactly_the_block(home, capsys):
    rc = home / ".zshrc"
    original = "export EDITOR=vim\n"
    rc.write_text(original)
    rcfile.install_shell("zsh")
    assert rcfile.uninstall_shell("zsh") == 0
    assert rc.read_text() == original
    assert "removed the ccprompt block" in capsys.readouterr().out
    assert rcfile.uninstall_shell("zsh") == 0
    assert "nothing to remove" in capsys.readouterr().out
    assert rc.read_text() == original


def test_uninstall_dry_run_keeps_the_file(home, capsys):
    rcfile.install_shell("fish")
    config = home / ".config" / "fish" / "config.fish"
    before = config.read_text()
    assert rcfile.uninstall_shell("fish", dry_run=True) == 0
    assert config.read_text() == before
    assert "would remove the ccprompt block" in capsys.readouterr().out


def test_a_damaged_block_is_reported_not_cut(home, capsys):
    rc = home / ".bashrc"
    damaged = "# >>> ccprompt >>>\neval \"$(ccprompt init bash)\"\nexport IMPORTANT=1\n"
    rc.write_text(damaged)
    assert rcfile.install_shell("bash") == 1
    assert rcfile.uninstall_shell("bash") == 1
    assert rc.read_text() == damaged
    assert "has no matching" in capsys.readouterr().err


def test_an_unsupported_shell_is_a_usage_error(home, capsys):
    assert rcfile.install_shell("tcsh") == 2
    assert rcfile.uninstall_shell("csh") == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("unsupported shell") == 2


def test_init_reads_the_config_once_on_a_cache_miss(home, monkeypatch):
    from ccprompt.core.config import Config

    config = home / ".config" / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("red_interval_s = 7\n[prompt]\nrefresh_interval_s = 120\n")
    loads = []
    real = Config.load.__func__
    monkeypatch.setattr(Config, "load", classmethod(lambda cls, paths=None: loads.append(paths) or real(cls, paths)))
    script = shells.init_script("bash")
    assert len(loads) == 1
    assert "__ccprompt_interval=120" in script and "__ccprompt_retry=7" in script
