"""The ready-made snippets in shell/: the POSIX sh reader, the tmux status line, starship."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from ccprompt.core.paths import executable_words
from ccprompt.surfaces.shell import init as shells
from ccprompt.surfaces.shell.quote import posix_quote
from harness.states import write_prompt_cache

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
READER = REPO / "shell" / "ccprompt-prompt.sh"
POSIX_SHELLS = [argv for argv in (["dash"], ["bash", "--posix"], ["zsh", "--emulate", "sh"]) if shutil.which(argv[0])]


def degraded(epoch_s=None):
    return {"status": "degraded", "network": {"latency_ms": 990, "p95_latency_ms": 450,
                                              "phases_ms": {"dns": 12, "tcp": 30, "tls": 45, "ttfb": 903,
                                                            "total": 990}},
            "monitoring_state": {"last_probe_epoch_ms": int((epoch_s or time.time()) * 1000)}}


@pytest.fixture
def home(tmp_path):
    state = tmp_path / "home" / ".claude" / "ccprompt"
    write_prompt_cache(str(state), degraded())
    return tmp_path / "home"


def read(argv, *args, home, extra_env=None):
    env = {"CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", os.defpath), "HOME": str(home), "LANG": "C.UTF-8"}
    env.update(extra_env or {})
    return subprocess.run(argv + [str(READER), *args], capture_output=True, text=True, env=env, timeout=30)


# -- the POSIX sh reader ----------------------------------------------------------------------


@pytest.mark.parametrize("shell", POSIX_SHELLS, ids=lambda argv: " ".join(argv))
@pytest.mark.parametrize("field, expected", [
    (None, "🟡 990ms"),
    ("icon", "🟡"),
    ("short", "🟡 990ms"),
    ("full", "🟡 P95:450ms DNS:12ms|TCP:30ms|TLS:45ms|TTFB:903ms|Total:990ms"),
    ("status", "degraded"),
    ("p95", "450"),
    ("latency", "990"),
])
def test_the_reader_prints_each_field_from_the_default_cache(shell, field, expected, home):
    result = read(shell, *([field] if field else []), home=home)
    assert (result.returncode, result.stdout, result.stderr) == (0, expected + "\n", "")


@pytest.mark.parametrize("shell", POSIX_SHELLS, ids=lambda argv: " ".join(argv))
def test_the_reader_follows_ccprompt_home(shell, home, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    write_prompt_cache(str(elsewhere), None)
    result = read(shell, "status", home=home, extra_env={"CCPROMPT_HOME": str(elsewhere)})
    assert result.stdout == "unknown\n"


@pytest.mark.parametrize("shell", POSIX_SHELLS, ids=lambda argv: " ".join(argv))
@pytest.mark.parametrize("content", [None, "ccprompt-prompt v2\n1\nhealthy\n🟢\n1\n1\n🟢\n🟢 1ms\n🟢\n", ""])
def test_no_usable_cache_reads_as_unknown(shell, content, home):
    cache = home / ".claude" / "ccprompt" / "prompt"
    if content is None:
        cache.unlink()
    else:
        cache.write_text(content)
    assert read(shell, "short", home=home).stdout == "⚪ no probe yet\n"
    assert read(shell, "status", home=home).stdout == "unknown\n"
    assert read(shell, "p95", home=home).stdout == "\n"


@pytest.mark.parametrize("shell", POSIX_SHELLS, ids=lambda argv: " ".join(argv))
def test_the_reader_never_interprets_the_cache(shell, home):
    pwned = home / "PWNED"
    cache = home / ".claude" / "ccprompt" / "prompt"
    cache.write_text("\n".join([
        "ccprompt-prompt v1", "1", "healthy", "🟢", f"$(touch {pwned})", "12; touch x",
        f"🟢 $(touch {pwned}) `touch {pwned}` %F{{red}}", "🟢 \x1b]2;owned\x07", "🟢"]) + "\n")
    assert read(shell, "icon", home=home).stdout == f"🟢 $(touch {pwned}) `touch {pwned}` %F{{red}}\n"
    assert read(shell, "short", home=home).stdout == "⚪ unreadable cache\n"
    assert read(shell, "p95", home=home).stdout == "\n"
    assert read(shell, "latency", home=home).stdout == "\n"
    assert not pwned.exists()


def test_the_reader_rejects_an_unknown_field(home):
    result = read(["sh"], "everything", home=home)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("usage: ccprompt-prompt.sh")


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is installed by .ci/run")
def test_the_reader_runs_no_other_program(home, tmp_path):
    log = tmp_path / "trace"
    env = {"CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", os.defpath), "HOME": str(home), "LANG": "C.UTF-8"}
    subprocess.run(["strace", "-f", "-qq", "-o", str(log), "-e", "trace=clone,clone3,fork,vfork,execve",
                    "dash", str(READER), "full"], env=env, capture_output=True, timeout=30, check=True)
    calls = [line for line in log.read_text().splitlines()
             if re.search(r"\b(execve|fork|vfork|clone3?)\(", line) and "CLONE_THREAD" not in line]
    assert len(calls) == 1 and "execve(" in calls[0], calls


def test_the_reader_passes_shellcheck_and_shfmt():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is installed by .ci/run")
    result = subprocess.run(["shellcheck", "--shell=sh", "--severity=style", str(READER)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    if shutil.which("shfmt"):
        result = subprocess.run(["shfmt", "-d", "-i", "4", "-ci", "-ln", "posix", str(READER)], capture_output=True,
                                text=True)
        assert result.returncode == 0, result.stdout


@pytest.mark.skipif(shutil.which("dash") is None, reason="needs dash")
def test_a_shell_without_init_shows_the_segment_through_ps1(home):
    env = {"CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", os.defpath), "HOME": str(home), "LANG": "C.UTF-8"}
    session = f"PS1='$(sh {READER}) $ '\necho ready\nexit\n"
    result = subprocess.run(["dash", "-i"], input=session, capture_output=True, text=True, env=env, timeout=30)
    assert "🟡 990ms $ " in result.stderr  # dash writes its prompts to stderr


# -- tmux status line -------------------------------------------------------------------------


class Server:
    def __init__(self, name):
        self.socket = f"ccprompt-snippet-{name}-{uuid.uuid4().hex[:8]}"

    def __call__(self, *args, env=None, config="/dev/null"):
        return subprocess.run(["tmux", "-L", self.socket, "-u", "-f", config, *args], capture_output=True,
                              text=True, env=env, timeout=10)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is installed by .ci/run")
def test_the_tmux_status_line_shows_the_segment_and_keeps_the_cache_fresh(tmp_path, fake_api, cc_env):
    """The snippet as shipped, with only the two paths filled in, shown by a real tmux client."""
    command = " ".join(posix_quote(w) for w in executable_words())
    conf = (REPO / "shell" / "tmux.conf").read_text()
    conf = conf.replace("~/.local/share/ccprompt/ccprompt-prompt.sh", str(READER))
    conf = conf.replace("#(ccprompt refresh", f"#({command} refresh")
    conf = conf.replace("status-interval 15", "status-interval 1")
    conf_file = tmp_path / "tmux.conf"
    conf_file.write_text(conf)
    env = dict(cc_env, TERM="screen")  # #() commands run with the tmux server's environment
    inner, outer = Server("inner"), Server("outer")
    try:
        started = inner("new-session", "-d", "-x", "100", "-y", "10", "sh", env=env, config=str(conf_file))
        assert started.returncode == 0, started.stderr
        # A client must be attached for tmux to draw (and run) the status line: attach one
        # inside a second tmux and read its screen.
        outer("new-session", "-d", "-x", "100", "-y", "12",
              f"env TMUX= TERM=screen tmux -L {inner.socket} attach", env=dict(os.environ, LANG="C.UTF-8"))
        deadline = time.monotonic() + 30
        status = ""
        while time.monotonic() < deadline:
            screen = outer("capture-pane", "-p").stdout.rstrip("\n").split("\n")
            status = screen[-1] if screen else ""
            if re.search(r"🟢 \d+ms \d\d:\d\d$", status.rstrip()):
                break
            time.sleep(0.1)
        assert re.search(r"🟢 \d+ms \d\d:\d\d$", status.rstrip()), status
        assert fake_api.request_count >= 1
    finally:
        outer("kill-server")
        inner("kill-server")


# -- starship -------------------------------------------------------------------------------


def test_the_starship_snippet_reads_what_the_hook_exports(tmp_path):
    config = tomllib.loads((REPO / "shell" / "starship.toml").read_text())
    module = config["env_var"]["CCPROMPT_SEGMENT"]
    assert module["variable"] == "CCPROMPT_SEGMENT"
    assert "$env_value" in module["format"]
    # The variable is the one every hook exports.
    for shell in shells.SHELLS:
        script = shells.render_script(shell, "none", "short", True, 300, ["ccprompt"], str(tmp_path))
        assert "CCPROMPT_SEGMENT" in script


def test_the_starship_custom_command_works_as_starship_would_run_it(home):
    lines = (REPO / "shell" / "starship.toml").read_text().splitlines()
    start = lines.index("# [custom.ccprompt]")
    block = []
    for line in lines[start:]:  # the commented-out module, uncommented
        if not line.startswith("# "):
            break
        block.append(line[2:])
    module = tomllib.loads("\n".join(block))["custom"]["ccprompt"]
    assert module["shell"] == ["sh"]
    command = module["command"].replace("~/.local/share/ccprompt/ccprompt-prompt.sh", str(READER))
    env = {"CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", os.defpath), "HOME": str(home), "LANG": "C.UTF-8"}
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, env=env, timeout=30)
    assert (result.stdout, result.stderr) == ("🟡 990ms\n", "")

