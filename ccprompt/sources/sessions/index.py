"""Find the transcripts under `<claude_dir>/projects/` and summarise each, reading as little as possible.

An index in `$CCPROMPT_HOME/sessions-index.json` keeps, per transcript, what the transcript
reader remembers of it (`sources.transcript`): its (inode, size, mtime), how far it was read,
and the derived summary; never a line of the transcript.
- unchanged file: the summary is reused without opening it;
- the same file, grown: only the new bytes are read;
- a new or rewritten file: the whole file when small, else backwards from its end until the
  current turn and the replies before it are found (`partial`).
"""

from __future__ import annotations

import os
import stat

from ccprompt.core import fastjson, files, statedir
from ccprompt.core.paths import Paths
from ccprompt.core.session_rules import SessionSummary
from ccprompt.sources.sessions import scan

INDEX_FILE = "sessions-index.json"
INDEX_VERSION = 2
FULL_LIMIT = 4 << 20
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
    """The index entry for one transcript, reusing or extending `previous` when it still applies.

    The transcript reader does the reading (`sources.reading.summarise`): a file it has
    seen grow is read from where it stopped; a new one whole up to FULL_LIMIT, else backwards
    from its end (`partial`).
    """
    from ccprompt.sources import reading, transcript

    if (previous and previous.get("ino") == info.st_ino and previous.get("size") == info.st_size
            and previous.get("mtime_ns") == info.st_mtime_ns):
        return previous  # unchanged: not even opened
    memory = previous if previous and previous.get("ino") == info.st_ino else None
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC)
    except OSError:
        return {"ino": info.st_ino, "size": info.st_size, "mtime_ns": info.st_mtime_ns, "offset": 0,
                "summary": SessionSummary(path=path).to_dict()}
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise OSError(f"{path} is not a regular file")
        kept, summary = reading.summarise(fd, opened, memory, transcript.Stats(), full_limit=FULL_LIMIT)
    except OSError:
        return {"ino": info.st_ino, "size": info.st_size, "mtime_ns": info.st_mtime_ns, "offset": 0,
                "summary": SessionSummary(path=path).to_dict()}
    finally:
        os.close(fd)
    del summary  # the remembered one: a partial last line is read again next time
    stored = SessionSummary.from_dict(kept["summary"])
    if not stored.session_id:
        stored.session_id = os.path.basename(path)[: -len(".jsonl")][:64]
    if not stored.project:
        stored.project = _project_of(path)
    stored.path = path
    kept["summary"] = stored.to_dict()
    return kept


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
    """One transcript, read now without the index or any memory: its current turn, found by
    the transcript reader whatever the size of the lines around it. `tail_kb` is ignored.

    Never raises: an unreadable file gives an empty summary.
    """
    del tail_kb
    from ccprompt.sources import transcript

    turn = transcript.read(path)
    if turn is None:
        return SessionSummary(path=path if isinstance(path, str) else "")
    return scan.totals(turn.summary())
