"""`core.oslite` answers as `os` and `os.path` do, for the paths and calls the status line makes."""

import os
import subprocess
import sys

import pytest

from ccprompt.core import oslite
from harness import REPO_ROOT

PATHS = ["", "/", "//", "///x", "a", "a/", "a/b", "a//b/", "/a/b/c", "/a/b/c/", "./x/../y", "x/./y//z/..",
         "~", "~/x", "~x/y", ".hidden", "/tmp/ccshared/.name.tmp", "caf\u00e9/\udcff"]


@pytest.mark.parametrize("path", PATHS)
def test_path_helpers_match_os_path(path, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert oslite.split(path) == os.path.split(path)
    assert oslite.dirname(path) == os.path.dirname(path)
    assert oslite.basename(path) == os.path.basename(path)
    assert oslite.abspath(path) == os.path.abspath(path)
    assert oslite.expanduser(path) == os.path.expanduser(path)


@pytest.mark.parametrize("parts", [("a", "b"), ("/a", "/b", "c"), ("a/", "b"), ("", "b"), ("a", ""), ("a", "b/", "c")])
def test_join_matches_os_path(parts):
    assert oslite.join(*parts) == os.path.join(*parts)


@pytest.mark.parametrize("home", ["/home/u", "/home/u/", "/", ""])
def test_expanduser_follows_home_as_os_path_does(home, monkeypatch):
    monkeypatch.setenv("HOME", home)
    for path in ("~", "~/x", "x"):
        assert oslite.expanduser(path) == os.path.expanduser(path)


def test_kinds_of_file(tmp_path):
    (tmp_path / "f").write_text("x")
    (tmp_path / "d").mkdir()
    os.mkfifo(tmp_path / "p")
    (tmp_path / "link").symlink_to(tmp_path / "d")
    for name in ("f", "d", "p", "link", "missing", "f/below"):
        path = str(tmp_path / name)
        assert (oslite.exists(path), oslite.isdir(path), oslite.isfile(path)) == (
            os.path.exists(path), os.path.isdir(path), os.path.isfile(path)), name
    assert oslite.isdir(tmp_path) and not oslite.exists("bad\0path")
    modes = {name: os.lstat(tmp_path / name).st_mode for name in ("f", "d", "p")}
    assert [oslite.S_ISREG(m) for m in modes.values()] == [True, False, False]
    assert [oslite.S_ISDIR(m) for m in modes.values()] == [False, True, False]
    assert [oslite.S_ISFIFO(m) for m in modes.values()] == [False, False, True]
    import socket

    with socket.socket(socket.AF_UNIX) as sock:
        assert oslite.S_ISSOCK(os.fstat(sock.fileno()).st_mode) and not oslite.S_ISSOCK(modes["p"])


def test_environ_is_os_environ_once_os_is_loaded(monkeypatch):
    monkeypatch.setenv("CCPROMPT_OSLITE_TEST", "seen")
    assert oslite.environ() is os.environ
    assert oslite.environ()["CCPROMPT_OSLITE_TEST"] == "seen"


def test_without_os_the_environment_is_read_from_posix():
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from ccprompt.core import oslite; "
            "env = oslite.environ(); print('os' in sys.modules, env['CCPROMPT_X'] == 'caf\\u00e9 \\udcff', "
            "oslite.abspath('a') == oslite.join(__import__('posix').getcwd(), 'a'))")
    env = {"CCPROMPT_X": "café \udcff", "PATH": os.environ["PATH"]}
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(REPO_ROOT)], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.stdout.split() == ["False", "True", "True"], out.stderr
