"""§8 of the hardening: Claude Code's settings.json, edited by the real `install statusline`.

A symlinked settings.json stays a symlink, a concurrent writer loses nothing, backups are
few, private and never overwrite each other, and uninstall puts back the user's own line.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from hardening_support import TREE, cli

# A careful stand-in for another editor of settings.json (Claude Code, a dotfiles script):
# read, add one key, write a new file and rename it over settings.json only if the file
# is still the one it read, else start again. Each key it believes written is printed.
WRITER = r'''
import json, os, sys, time
path, until = sys.argv[1], time.time() + float(sys.argv[2])
target = os.path.realpath(path)
n = 0
while time.time() < until:
    try:
        fd = os.open(target, os.O_RDONLY)
        seen = os.fstat(fd)
        raw = b""
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            raw += chunk
        os.close(fd)
        data = json.loads(raw)
    except (OSError, ValueError):
        continue
    data[f"w{n}"] = n
    temp = f"{target}.writer.{os.getpid()}"
    with open(temp, "w") as handle:
        json.dump(data, handle)
    now = os.stat(target)
    if (now.st_ino, now.st_mtime_ns, now.st_size) != (seen.st_ino, seen.st_mtime_ns, seen.st_size):
        os.unlink(temp)
        continue
    os.replace(temp, target)
    print(f"w{n}", flush=True)
    n += 1
    time.sleep(0.005)
'''


def settings_file(env) -> Path:
    return Path(env["HOME"]) / ".claude" / "settings.json"


def backups(env):
    path = settings_file(env)
    return sorted(path.parent.glob("settings.json.ccprompt-*.bak"))


def test_s8_a_symlinked_settings_file_is_written_through_to_its_target(cc_env, tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "settings.json"
    target.write_text('{"model": "opus"}')
    target.chmod(0o644)
    link = settings_file(cc_env)
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    result = cli("install", "statusline", env=cc_env)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    settings = json.loads(target.read_text())
    assert settings["model"] == "opus" and settings["statusLine"]["command"].endswith("statusline")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert not [p for p in dotfiles.iterdir() if p.name != "settings.json"]  # no temp or backup left there


def test_s8_backups_are_private_unique_and_at_most_five(cc_env):
    path = settings_file(cc_env)
    path.parent.mkdir(parents=True)
    path.write_text('{"model": "opus"}')
    for _ in range(6):  # twelve edits, several in the same second
        assert cli("install", "statusline", env=cc_env).returncode == 0
        assert cli("uninstall", "statusline", env=cc_env).returncode == 0
    found = backups(cc_env)
    assert len(found) == 5, found
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in found)
    assert json.loads(path.read_text()) == {"model": "opus"}


def test_s8_install_then_uninstall_puts_back_the_previous_status_line(cc_env):
    path = settings_file(cc_env)
    path.parent.mkdir(parents=True)
    mine = {"type": "command", "command": "~/bin/my-line.sh", "padding": 2}
    path.write_text(json.dumps({"model": "opus", "statusLine": mine}))
    installed = cli("install", "statusline", env=cc_env)
    assert installed.returncode == 0
    assert "ccprompt" in json.loads(path.read_text())["statusLine"]["command"]
    remembered = Path(cc_env["CCPROMPT_HOME"]) / "replaced-statusline.json"
    assert remembered.exists() and stat.S_IMODE(remembered.stat().st_mode) == 0o600
    again = cli("install", "statusline", env=cc_env)  # a second install keeps what was remembered
    assert again.returncode == 0
    removed = cli("uninstall", "statusline", env=cc_env)
    assert removed.returncode == 0
    assert json.loads(path.read_text()) == {"model": "opus", "statusLine": mine}
    assert "restored" in removed.stdout and "my-line.sh" in removed.stdout


def test_s8_a_concurrent_writer_loses_nothing_and_neither_does_ccprompt(cc_env):
    path = settings_file(cc_env)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"model": "opus"}))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "30"], stdout=subprocess.PIPE, text=True,
                              cwd=str(TREE))
    lost_ours = 0
    runs = 0
    try:
        time.sleep(0.3)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and runs < 24:
            install = runs % 2 == 0
            result = cli("install" if install else "uninstall", "statusline", env=cc_env)
            runs += 1
            assert result.returncode == 0, result.stderr
            line = json.loads(path.read_text()).get("statusLine")
            if install != (line is not None and "ccprompt" in line.get("command", "")):
                lost_ours += 1
    finally:
        writer.terminate()
        written = writer.communicate(timeout=30)[0].split()
    final = json.loads(path.read_text())
    lost_theirs = [key for key in written if key not in final]
    assert runs >= 10 and len(written) > 50, (runs, len(written))
    assert lost_ours == 0, lost_ours
    assert lost_theirs == [], f"{len(lost_theirs)} of {len(written)} writes lost"


# -- round three: installs serialized and journaled, owners kept, odd shapes refused ----------

TRIALS = int(os.environ.get("CCPROMPT_INSTALL_TRIALS", "8"))
CYCLE = '''
set -e
"$PY" -m ccprompt install statusline --keep >/dev/null
"$PY" -m ccprompt uninstall statusline >/dev/null
"$PY" -m ccprompt install statusline >/dev/null
'''


def test_s8_parallel_install_cycles_never_lose_the_users_own_status_line(cc_env):
    path = settings_file(cc_env)
    path.parent.mkdir(parents=True)
    mine = {"type": "command", "command": "~/bin/my-line.sh", "padding": 1}
    env = {**cc_env, "PY": sys.executable}
    lost = []
    for trial in range(TRIALS):
        path.write_text(json.dumps({"model": "opus", "statusLine": mine}))
        remembered = Path(cc_env["CCPROMPT_HOME"]) / "replaced-statusline.json"
        remembered.unlink(missing_ok=True)
        cycles = [subprocess.Popen(["sh", "-c", CYCLE], env=env, cwd=str(TREE), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for _ in range(8)]
        for proc in cycles:
            _, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err
            assert "Traceback" not in err
        assert "ccprompt" in json.loads(path.read_text())["statusLine"]["command"]
        final = cli("uninstall", "statusline", env=cc_env)
        assert final.returncode == 0, final.stderr
        line = json.loads(path.read_text()).get("statusLine")
        if line != mine:
            lost.append((trial, line))
    assert lost == [], lost


def test_s8_install_as_root_keeps_the_owner_and_mode_of_the_users_files(cc_env, tmp_path):
    import pwd

    nobody = pwd.getpwnam("nobody")
    if os.geteuid() != 0:
        import pytest

        pytest.skip("needs root: a file of another user")
    path = settings_file(cc_env)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"model": "opus"}))
    path.chmod(0o640)
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    claude_json = Path(cc_env["HOME"]) / ".claude.json"
    claude_json.write_text(json.dumps({"projects": {}}))
    claude_json.chmod(0o600)
    os.chown(claude_json, nobody.pw_uid, nobody.pw_gid)
    for args in (["install", "statusline"], ["install", "mcp"], ["uninstall", "statusline"],
                 ["uninstall", "mcp"], ["install", "statusline"]):
        result = cli(*args, env=cc_env)
        assert result.returncode == 0, (args, result.stderr)
        for file, mode in ((path, 0o640), (claude_json, 0o600)):
            info = file.stat()
            assert (info.st_uid, info.st_gid) == (nobody.pw_uid, nobody.pw_gid), (args, file, info.st_uid)
            assert stat.S_IMODE(info.st_mode) == mode, (args, file, oct(info.st_mode))
    assert "ccprompt" in json.loads(path.read_text())["statusLine"]["command"]
    for backup in backups(cc_env):
        assert backup.stat().st_uid == nobody.pw_uid, backup  # the user can read their own backups


def test_s8_a_value_of_the_wrong_shape_is_refused_in_one_line_not_replaced(cc_env):
    path = settings_file(cc_env)
    path.parent.mkdir(parents=True)
    claude_json = Path(cc_env["HOME"]) / ".claude.json"
    cases = [
        (path, {"model": "opus", "statusLine": "~/bin/my-line.sh"}, ["install", "statusline"], "statusLine"),
        (path, {"model": "opus", "statusLine": ["x"]}, ["install", "statusline", "--keep"], "statusLine"),
        (claude_json, {"projects": {}, "mcpServers": "oops"}, ["install", "mcp"], "mcpServers"),
        (claude_json, {"projects": {}, "mcpServers": [1, 2]}, ["install", "mcp"], "mcpServers"),
    ]
    for file, document, args, key in cases:
        file.write_text(json.dumps(document))
        before = file.read_bytes()
        result = cli(*args, env=cc_env)
        assert result.returncode != 0, (args, result.stdout)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ccprompt: ") and key in lines[0], result.stderr
        assert file.read_bytes() == before, args


def test_s8_install_as_root_in_a_fresh_home_of_another_user_leaves_everything_theirs(cc_env):
    import pwd

    if os.geteuid() != 0:
        import pytest

        pytest.skip("needs root: a home of another user")
    nobody = pwd.getpwnam("nobody")
    home = Path(cc_env["HOME"])
    os.chown(home, nobody.pw_uid, nobody.pw_gid)
    assert not (home / ".claude").exists()
    for args in (["install", "statusline"], ["install", "mcp"]):
        result = cli(*args, env=cc_env)
        assert result.returncode == 0, (args, result.stderr)
    made = [home / ".claude", settings_file(cc_env), home / ".claude.json"]
    assert all(path.exists() for path in made), made
    foreign = [str(p) for p in [home, *home.rglob("*")] if p.lstat().st_uid != nobody.pw_uid]
    assert foreign == [], foreign  # nothing root-owned left in the user's home
