"""The hot paths stay on the standard library: Typer, jinja2 and pycurl load only where needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness import REPO_ROOT

HEAVY = ("typer", "click", "rich", "jinja2", "pycurl", "shellingham")


def import_order(stderr: str) -> list:
    """Module names in the order `-X importtime` reports them."""
    return [line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and "|" in line]


def imported(args, env, stdin="", full=False) -> set:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "ccprompt", *args], input=stdin, env=env,
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr[-500:]
    order = import_order(result.stderr)
    # Only what ccprompt brings in: site start-up (an editable install's finder imports `re`,
    # for one) happens before the package's own first line.
    start = order.index("ccprompt")
    return {name if full else name.split(".")[0] for name in order[start:]}


def test_statusline_render_imports_nothing_heavy(cc_env):
    payload = json.dumps({"session_id": "imports", "model": {"display_name": "Opus"},
                          "transcript_path": str(REPO_ROOT / "tests" / "fixtures" / "transcript-529.jsonl")})
    names = imported(["statusline"], cc_env, payload)
    assert "ccprompt" in names
    assert not names & set(HEAVY), names & set(HEAVY)
    assert "json" not in names and "re" not in names  # the fast JSON path holds


def test_status_imports_nothing_heavy(cc_env):
    names = imported(["status"], cc_env)
    assert not names & set(HEAVY)


def test_a_format_template_is_what_brings_in_jinja2(cc_env):
    config = Path(cc_env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[statusline]\nformat = "{{ network }}"\n')
    names = imported(["statusline"], cc_env, "{}")
    assert "jinja2" in names and "typer" not in names and "pycurl" not in names


def test_a_config_file_is_parsed_once_then_read_from_the_cache(cc_env):
    config = Path(cc_env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[statusline]\nstyle = "short"\n')
    first = imported(["statusline"], cc_env, "{}")
    assert "tomllib" in first or "tomli" in first
    again = imported(["statusline"], cc_env, "{}")
    assert not again & {"tomllib", "tomli", "json", "re"}


def test_a_steady_render_through_the_launcher_loads_no_os_select_or_future(cc_env, tmp_path):
    """`os` alone is an eighth of a render: the render path uses `core.oslite` instead."""
    from ccprompt import launcher

    exe = tmp_path / "bin" / "ccprompt"
    exe.parent.mkdir()
    launcher.write(str(exe), sys.executable)
    payload = json.dumps({"session_id": "lean", "model": {"display_name": "Opus"},
                          "transcript_path": str(REPO_ROOT / "tests" / "fixtures" / "transcript-ok.jsonl")})
    first = subprocess.run([str(exe), "statusline", "--sync"], input=payload, env=cc_env, capture_output=True,
                           text=True, timeout=30)
    assert first.returncode == 0 and "🟢" in first.stdout, first.stdout + first.stderr
    read_fd, write_fd = os.pipe()  # the payload is written and the pipe closed before the render starts
    os.write(write_fd, payload.encode())
    os.close(write_fd)
    try:
        result = subprocess.run([sys.executable, "-I", "-S", "-X", "importtime", str(exe), "statusline"],
                                stdin=read_fd, env=cc_env, capture_output=True, text=True, timeout=30)
    finally:
        os.close(read_fd)
    assert result.returncode == 0 and "🟢" in result.stdout, result.stdout + result.stderr
    names = set(import_order(result.stderr))
    # The status line's own modules run from the launcher's `.hotpath` file, not through importlib.
    assert not {n for n in names if n.startswith("ccprompt")}, names
    assert not names & {"os", "posixpath", "_collections_abc", "select", "__future__", "json", "re"}, names


def render_through(exe, env, payload: str):
    result = subprocess.run([sys.executable, "-I", "-S", "-X", "importtime", str(exe), "statusline"],
                            input=payload, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr[-500:]
    return result.stdout, {n for n in import_order(result.stderr) if n.startswith("ccprompt")}


def test_the_launcher_runs_the_hot_modules_only_while_their_sources_are_unchanged(cc_env, tmp_path):
    import marshal

    from ccprompt import launcher

    exe = tmp_path / "bin" / "ccprompt"
    exe.parent.mkdir()
    launcher.write(str(exe), sys.executable)
    hotpath = Path(str(exe) + ".hotpath")
    payload = json.dumps({"session_id": "lean", "model": {"display_name": "Opus"}})
    subprocess.run([str(exe), "statusline", "--sync"], input=payload, env=cc_env, capture_output=True, text=True,
                   timeout=30)
    line, loaded = render_through(exe, cc_env, payload)
    assert "Opus" in line and "🟢" in line and not loaded
    # Every module the render needs is in the file: none is imported the slow way.
    data = hotpath.read_bytes()
    preload, items = marshal.loads(data[4:])
    assert {name for name, *_ in items} >= {"ccprompt.surfaces.statusline", "ccprompt.sources.transcript"}
    assert [name for name, *_ in items] == list(launcher.HOT)  # every listed module exists (none stale)
    # A source changed since (its recorded mtime no longer matches): the usual imports, the same line.
    items[-1] = (items[-1][0], items[-1][1], items[-1][2], items[-1][3] - 1, items[-1][4], items[-1][5])
    hotpath.write_bytes(data[:4] + marshal.dumps((preload, items)))
    again, loaded = render_through(exe, cc_env, payload)
    assert again == line and "ccprompt.surfaces.statusline" in loaded
    # Another interpreter's bytecode, or a damaged file: never run, the usual imports.
    for broken in (b"\0\0\r\n" + data[4:], data[:4] + b"garbage", b""):
        hotpath.write_bytes(broken)
        again, loaded = render_through(exe, cc_env, payload)
        assert again == line and "ccprompt.surfaces.statusline" in loaded
    # Other commands never preload.
    version = subprocess.run([str(exe), "--version"], env=cc_env, capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and version.stdout.startswith("ccprompt ")


def test_inside_claude_code_the_render_reads_no_credentials(cc_env):
    """Claude Code's environment says which endpoint it uses: no rc file or settings.json is read per render."""
    env = {k: v for k, v in cc_env.items() if k != "ANTHROPIC_BASE_URL"}
    names = imported(["statusline"], {**env, "CLAUDECODE": "1"}, "{}", full=True)
    assert "ccprompt.surfaces.statusline" in names
    assert "ccprompt.sources.credentials" not in names
    # Control: run by hand, without Claude Code's environment, the lookup does run.
    assert "ccprompt.sources.credentials" in imported(["statusline"], env, "{}", full=True)


def test_a_render_through_the_launcher_ends_without_teardown_and_loses_nothing(cc_env, tmp_path):
    """The launcher ends a render at once (`entry.leave`): the line, the debug log and the
    session's record are whole, the exit status is kept, and a reader gone early is no error."""
    from ccprompt import launcher

    exe = tmp_path / "bin" / "ccprompt"
    exe.parent.mkdir()
    launcher.write(str(exe), sys.executable)
    env = {**cc_env, "CCPROMPT_DEBUG": "1", "COLUMNS": "200"}
    payload = json.dumps({"session_id": "leave-now", "model": {"display_name": "Opus"},
                          "transcript_path": str(REPO_ROOT / "tests" / "fixtures" / "transcript-ok.jsonl")})
    subprocess.run([str(exe), "statusline", "--sync"], input=payload, env=env, capture_output=True, text=True,
                   timeout=30)
    usual = subprocess.run([sys.executable, "-m", "ccprompt", "statusline"], input=payload, env=env, cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=30)  # the same render, torn down as usual
    home = Path(env["CCPROMPT_HOME"])
    log = home / "debug.log"
    renders_before = log.read_text().count('"render"')
    memory = home / "transcripts"
    for kept in memory.iterdir():  # the render writes the transcript's memory again
        kept.unlink()
    # An atexit handler stands for the teardown: it must not run after a render, and must after anything else.
    probe = ("import atexit, runpy, sys; atexit.register(lambda: sys.stderr.write('TEARDOWN\\n'));"
             f" sys.argv = [{str(exe)!r}, *sys.argv[1:]]; runpy.run_path({str(exe)!r}, run_name='__main__')")
    result = subprocess.run([sys.executable, "-I", "-S", "-c", probe, "statusline"], input=payload, env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "TEARDOWN" not in result.stderr, result.stderr
    assert result.stdout == usual.stdout and "Opus" in result.stdout and "🟢" in result.stdout
    assert log.read_text().count('"render"') == renders_before + 1 and log.read_text().endswith("\n")
    assert [json.loads(kept.read_text())["path"] for kept in memory.iterdir()] == [json.loads(payload)["transcript_path"]]
    other = subprocess.run([sys.executable, "-I", "-S", "-c", probe, "--version"], env=env, capture_output=True,
                           text=True, timeout=30)
    assert other.returncode == 0 and other.stdout.startswith("ccprompt ") and "TEARDOWN" in other.stderr
    # Claude Code gone before the line is written: no traceback, no complaint.
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    try:
        gone = subprocess.run([str(exe), "statusline"], input=payload.encode(), stdout=write_fd,
                              stderr=subprocess.PIPE, env=env, timeout=30)
    finally:
        os.close(write_fd)
    assert gone.stderr == b"" and gone.returncode in (0, 120), gone.stderr
