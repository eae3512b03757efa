"""Find the transcripts under `<claude_dir>/projects/` and summarise each, reading as little as possible.

An index in `$CCPROMPT_HOME/sessions-index.json` keeps, per transcript, its (inode, size,
mtime), how far it was read, and the derived summary; never a line of the transcript.
- unchanged file: the summary is reused without opening it;
- the same file, grown: only the new bytes are read;
- a new or rewritten file: the whole file when small, else only its tail (`partial`).
"""

from __future__ import annotations

import os
import stat

from ccprompt.core import fastjson, files, statedir
from ccprompt.core.paths import Paths
from ccprompt.core.session_rules import SessionSummary
from ccprompt.sources.sessions import scan

INDEX_FILE = "sessions-index.json"
INDEX_VERSION = 1
TAIL_BYTES = 256 * 1024
FULL_LIMIT = 4 << 20
DELTA_LIMIT = 16 << 20
INDEX_LIMIT = 32 << 20
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def projects_dir(paths: Paths) -> str:
    return os.path.join(paths.claude_dir, "projects")


def discover(paths: Paths, newer_than_s: float | None = None) -> list:
    """(path, stat) of each session transcript, `<projects>/<dir>/<session>.jsonl`, optionally by mtime."""
    found = []
    try:
        projects = list(os.scandir(projects_dir(paths)))
    except OSError:
        return found
    for project in projects:
        try:
            if not project.is_dir(follow_symlinks=False):
                continue
            entries = list(os.scandir(project.path))
        except OSError:
            continue
        for entry in entries:
            if not entry.name.endswith(".jsonl"):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            if newer_than_s is not None and info.st_mtime < newer_than_s:
                continue
            found.append((entry.path, info))
    return found


def read_range(path: str, start: int, length: int) -> bytes:
    """`length` bytes from `start` of a regular file (fewer at its end); never blocks on a FIFO."""
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        chunks, where, left = [], start, length
        while left > 0:
            chunk = os.pread(fd, min(left, 1 << 20), where)
            if not chunk:
                break
            chunks.append(chunk)
            where += len(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _project_of(path: str) -> str:
    # `-home-you-src-app` is the cwd with `/` as `-`; its last word is a fair name without a cwd.
    name = os.path.basename(os.path.dirname(path))
    return name.rstrip("-").rsplit("-", 1)[-1][:60] or name[:60]


def summarise(path: str, info, previous: dict | None) -> dict:
    """The index entry for one transcript, reusing or extending `previous` when it still applies."""
    key = {"ino": info.st_ino, "size": info.st_size, "mtime": info.st_mtime}
    if previous and all(previous.get(k) == v for k, v in key.items()):
        return previous
    grown = (previous and previous.get("ino") == info.st_ino and previous.get("offset", 0) <= info.st_size
             and info.st_size - previous.get("offset", 0) <= DELTA_LIMIT and info.st_size >= previous.get("size", 0))
    if grown:
        summary = SessionSummary.from_dict(previous.get("summary") or {})
        start = previous.get("offset", 0)
        partial_first = False
    else:
        summary = SessionSummary()
        start = 0 if info.st_size <= FULL_LIMIT else info.st_size - TAIL_BYTES
        partial_first = start > 0
        summary.partial = partial_first
    try:
        data = read_range(path, start, info.st_size - start)
    except OSError:
        return {**key, "offset": start, "summary": summary.to_dict()}
    if partial_first:
        cut = data.find(b"\n")
        data = data[cut + 1:] if cut >= 0 else b""
        start = info.st_size - len(data)
    end = data.rfind(b"\n") + 1
    scan.fold(summary, data[:end])
    if not summary.session_id:
        summary.session_id = os.path.basename(path)[: -len(".jsonl")][:64]
    if not summary.project:
        summary.project = _project_of(path)
    summary.path = path
    return {**key, "offset": start + end, "summary": summary.to_dict()}


def load_index(paths: Paths) -> dict:
    try:
        raw = fastjson.loads(statedir.read_state(paths.state_dir, paths.in_state(INDEX_FILE), INDEX_LIMIT))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict) or raw.get("version") != INDEX_VERSION or not isinstance(raw.get("files"), dict):
        return {}
    return raw["files"]


def save_index(paths: Paths, entries: dict) -> None:
    """Best effort: a read-only or full state directory costs speed, never the listing."""
    import json

    try:
        files.private_dir(paths.state_dir)
        text = json.dumps({"version": INDEX_VERSION, "files": entries}, separators=(",", ":"))
        files.atomic_write(paths.in_state(INDEX_FILE), files.encode(text))
    except (OSError, ValueError):
        pass


def summaries(paths: Paths, newer_than_s: float | None = None, use_index: bool = True) -> list:
    """A `SessionSummary` (reply in progress counted) for each transcript, newest activity first."""
    old = load_index(paths) if use_index else {}
    entries = dict(old)
    changed = False
    out = []
    for path, info in discover(paths, newer_than_s):
        entry = summarise(path, info, old.get(path))
        if entry is not old.get(path):
            entries[path] = entry
            changed = True
        out.append(scan.totals(SessionSummary.from_dict(entry["summary"])))
    if use_index and changed:
        for path in [p for p in entries if not os.path.exists(p)]:
            del entries[path]
        save_index(paths, entries)
    out.sort(key=lambda s: -(s.last_s or 0))
    return out


def summary_of(path: str, tail_kb: int = 64) -> SessionSummary:
    """One transcript, read now without the index (the status line's case): its tail only.

    Never raises: an unreadable file gives an empty summary.
    """
    summary = SessionSummary(path=path if isinstance(path, str) else "")
    try:
        size = os.stat(path).st_size
        start = max(0, size - tail_kb * 1024)
        data = read_range(path, start, size - start)
    except (OSError, TypeError, ValueError):
        return summary
    if start > 0:
        cut = data.find(b"\n")
        data = data[cut + 1:] if cut >= 0 else b""
        summary.partial = True
    scan.fold(summary, data)
    return scan.totals(summary)
