"""Shared pieces of the hardening tests: the real command, throwaway users, a tiny tmpfs.

`CCPROMPT_TEST_TREE` points the commands at another checkout (an older commit in a git
worktree), so the same tests measure the code before a fix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from harness import REPO_ROOT

TREE = Path(os.environ.get("CCPROMPT_TEST_TREE") or REPO_ROOT)
NEEDS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: useradd, mount, chown")


def cli(*args, env, input=None, timeout=30, umask=None, pass_fds=(), preexec=None):
    """`python -m ccprompt ARGS` from the tree under test."""

    def before():
        if umask is not None:
            os.umask(umask)
        if preexec:
            preexec()

    return subprocess.run([sys.executable, "-m", "ccprompt", *map(str, args)], env=env, input=input,
                          capture_output=True, text=True, encoding="utf-8", errors="surrogateescape",
                          timeout=timeout, cwd=str(TREE), preexec_fn=before, pass_fds=pass_fds)


def popen(*args, env, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "ccprompt", *map(str, args)], env=env, cwd=str(TREE),
                            **kwargs)


def statusline(env, data=None, timeout=10):
    started = time.monotonic()
    result = cli("statusline", env=env, input=json.dumps(data or {}), timeout=timeout)
    return result, time.monotonic() - started


def timed_statusline(env, data=None, limit_s=10):
    """(stdout or None when it had to be killed, seconds taken)."""
    started = time.monotonic()
    try:
        result = cli("statusline", env=env, input=json.dumps(data or {}), timeout=limit_s)
        return result.stdout, time.monotonic() - started
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - started


def wait_until(predicate, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def settle(state_dir: Path, timeout: float = 15.0) -> None:
    """Wait until no probe holds the lock."""
    import fcntl

    lock = Path(state_dir) / "probe.lock"
    if not lock.exists():
        return
    fd = os.open(lock, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.05)
    finally:
        os.close(fd)


class User:
    def __init__(self, name: str):
        self.name = name
        import pwd

        entry = pwd.getpwnam(name)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid

    def run(self, *argv, **kwargs):
        return subprocess.run(["runuser", "-u", self.name, "--", *map(str, argv)], check=True,
                              capture_output=True, text=True, timeout=30, **kwargs)


@pytest.fixture
def other_user():
    """A throwaway local user, removed afterwards."""
    name = "ccp" + uuid.uuid4().hex[:8]
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True,
                   capture_output=True, timeout=30)
    try:
        yield User(name)
    finally:
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True, timeout=30)
        subprocess.run(["userdel", "-r", "-f", name], capture_output=True, timeout=30)


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 64 KB tmpfs, unmounted afterwards."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mount)], check=True,
                   capture_output=True, timeout=30)
    try:
        yield mount
    finally:
        for _ in range(20):
            if subprocess.run(["umount", str(mount)], capture_output=True, timeout=30).returncode == 0:
                break
            time.sleep(0.25)
        else:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=30)


def fill(directory: Path) -> None:
    """Fill the filesystem of `directory` to the last block."""
    for name, size in (("ballast", 4096), ("ballast2", 1)):
        fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * size)
        except OSError:
            pass
        finally:
            os.close(fd)


@pytest.fixture
def open_tmp():
    """A directory like /tmp (1777) that other users can use (pytest's own tmp dirs are 0700)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="ccp-hardening-"))
    path.chmod(0o1777)  # like /tmp
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def nobody():
    """The machine's own second user, `nobody`: what another local user can do."""
    return User("nobody")
