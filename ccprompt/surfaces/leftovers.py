"""What ccprompt leaves behind after uninstalling, and `--purge` for ccprompt's own.

ccprompt's own leftovers: its backups (`settings.json.ccprompt-*.bak`,
`.claude.json.ccprompt-*.bak`), the files it created itself (an rc file, settings.json,
.claude.json) once nothing but what it wrote is gone from them, and its state directory (whole,
only when its name says ccprompt: a `CCPROMPT_HOME` such as `~/.local/state` is listed, never removed).
Each file ccprompt creates is remembered in `created.json` in the state directory when it
creates it: a file it did not create is never removed, whatever it holds. The config file is
the user's, always kept.
"""

from __future__ import annotations

import json
import os
import stat

from ccprompt.core import files, statedir
from ccprompt.core.paths import Paths

MANIFEST = "created.json"
MANIFEST_LIMIT = 64 * 1024
# What a file ccprompt created holds once ccprompt's own part is removed again.
EMPTY_JSON = ({}, {"mcpServers": {}})


def _manifest(paths: Paths) -> str:
    return paths.in_state(MANIFEST)


def created_files(paths: Paths | None = None) -> list:
    paths = paths or Paths()
    try:
        document = json.loads(statedir.read_state(paths.state_dir, _manifest(paths), MANIFEST_LIMIT))
    except (OSError, ValueError):
        return []
    listed = document.get("files") if isinstance(document, dict) else None
    return [p for p in listed if isinstance(p, str) and os.path.isabs(p)] if isinstance(listed, list) else []


def _root_in_another_home(paths: Paths) -> bool:
    try:
        return os.geteuid() == 0 and os.stat(paths.home).st_uid != 0
    except OSError:
        return False


def remember_created(path: str, paths: Paths | None = None) -> None:
    """Note that ccprompt is about to create `path`; never fails the edit it belongs to."""
    paths = paths or Paths()
    if files.unsafe_dir(paths.state_dir) or _root_in_another_home(paths):
        return  # never written where it would not be read, nor a root-owned state dir in a user's home
    try:
        known = created_files(paths)
        if path in known:
            return
        files.private_dir(paths.state_dir)
        document = {"files": (known + [path])[-64:]}
        files.atomic_write(_manifest(paths), (json.dumps(document, indent=1) + "\n").encode(), 0o600)
    except OSError:
        pass


def backups(path: str) -> list:
    """ccprompt's backups of `path` (next to it and next to the file a symlink points at)."""
    found = []
    for target in dict.fromkeys((path, os.path.realpath(path))):
        directory, name = os.path.split(target)
        try:
            names = sorted(os.listdir(directory or "."))
        except OSError:
            continue
        for entry in names:
            if entry.startswith(f"{name}.ccprompt-") and entry.endswith(".bak"):
                full = os.path.join(directory, entry)
                if _own_regular(full) and full not in found:
                    found.append(full)
    return found


def _own_regular(path: str) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid()


def _emptied(path: str) -> bool:
    """Whether a file ccprompt created holds nothing but what ccprompt's removal left."""
    try:
        text = files.read_regular(path, 1 << 20, owned=True).decode("utf-8", "replace")
    except OSError:
        return False
    if not text.strip():
        return True
    if path.endswith(".json"):
        try:
            return json.loads(text) in EMPTY_JSON
        except ValueError:
            return False
    return False


def survey(config_files, paths: Paths | None = None) -> dict:
    """{"ours": [(path, what)], "kept": [(path, why)]}: what `--purge` would remove, and what stays.
    `config_files` are the files ccprompt edits with backups (settings.json, .claude.json)."""
    paths = paths or Paths()
    ours, kept = [], []
    for config_file in config_files:
        for backup in backups(config_file):
            ours.append((backup, f"a backup ccprompt made of {os.path.basename(config_file)}"))
    for created in created_files(paths):
        if not _own_regular(created):
            continue
        if _emptied(created):
            ours.append((created, "created by ccprompt, empty now"))
        else:
            kept.append((created, "created by ccprompt, but it holds more now: yours to keep"))
    if os.path.isdir(paths.state_dir) and not os.path.islink(paths.state_dir):
        if "ccprompt" in os.path.basename(os.path.normpath(paths.state_dir)).lower():
            ours.append((paths.state_dir, "ccprompt's state: probes, history, caches"))
        else:  # a CCPROMPT_HOME such as ~/.local/state may hold others' files too: never removed whole
            kept.append((paths.state_dir, "ccprompt's state, in a directory not named for ccprompt "
                                          "(CCPROMPT_HOME): remove it yourself if nothing else is in it"))
    if os.path.exists(paths.config_file):
        kept.append((paths.config_file, "your configuration"))
    return {"ours": ours, "kept": kept}


def purge(found: dict) -> list:
    """Remove each of ccprompt's own leftovers; returns the problems (path, reason)."""
    import shutil

    problems = []
    for path, _ in found["ours"]:
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            problems.append((path, exc.strerror or str(exc)))
    return problems
