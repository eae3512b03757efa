"""`core.files.stage`: the one way a new file is made beside its target, for `atomic_write` and for
the shared JSON files' compare-and-swap."""

from __future__ import annotations

import os

import pytest

from ccprompt.core import files, oslite


def test_a_staged_file_is_new_private_then_given_its_mode_and_owner(tmp_path):
    target = tmp_path / "settings.json"
    nobody = (65534, 65534)
    temp, fd = files.stage(str(target), b"{}" * 70000, 0o640, nobody, "ccprompt-")
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    name = os.path.basename(temp)
    assert name.startswith(".settings.json.ccprompt-") and name.endswith(files.TEMP_SUFFIX)
    assert info.st_mode & 0o777 == 0o640 and os.path.getsize(temp) == 140000
    if os.getuid() == 0:
        assert (info.st_uid, info.st_gid) == nobody
    assert not target.exists()


def test_a_failed_stage_leaves_nothing(tmp_path, monkeypatch):
    def broken(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(oslite, "write", broken)
    with pytest.raises(OSError):
        files.atomic_write(str(tmp_path / "state.json"), b"x")
    assert os.listdir(tmp_path) == []


def test_a_planted_symlink_at_a_staged_name_is_never_followed(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.write_text("kept")
    monkeypatch.setattr(oslite, "urandom", lambda n: b"\0" * n)
    os.symlink(victim, tmp_path / f".state.json.{'00' * 6}{files.TEMP_SUFFIX}")
    with pytest.raises(FileExistsError):
        files.atomic_write(str(tmp_path / "state.json"), b"x")
    assert victim.read_text() == "kept"
