"""The one transcript reader: the current turn of a session, whatever the lines around it weigh.

The status line, the shell's session variables, `explain` and the probe worker read a
transcript through `read` (and `scan`, its status-line view); `sessions` and the MCP
tools through `summarise`; `postmortem` reads every entry. All of them ask
`sources.entry` what a line is and `sessions.scan.fold_entry` what it means.

How it reads, in work proportional to what is new:
- It remembers, per transcript, in `<state dir>/transcripts/` (only when the state
  directory is safe): the file's identity (device, inode), its size and mtime, the offset
  of the last complete line read, the last bytes before that offset, and the turn state
  folded so far (a `SessionSummary`: numbers and short labels, never content).
- Unchanged since the last render: nothing is read.
- Grown (the same inode, the bytes before the offset unchanged): only the appended bytes
  are read, at most DELTA_LIMIT of them.
- First sight, shrunk, replaced, or grown by more: complete lines are read backwards from
  the end, past lines of any size, until the newest reply (and a few before it) is found,
  at most BACK_LIMIT bytes; what follows that point is the current turn.
Lines are told apart from their bytes (`entry.read_line`): a bookkeeping line is never
decoded, a line past `entry.PARSE_LIMIT` only has its ends looked at. A partial last line
(being written) counts for this reading if it is already whole JSON, and is read again
next time. Only regular files are read: a FIFO or a device never hangs it.
"""

from ccprompt.core import fastjson, files, oslite
from ccprompt.core.model import TranscriptScan
from ccprompt.core.session_rules import SessionSummary
from ccprompt.sources.entry import HEAD as HEAD_KEEP
from ccprompt.sources.entry import PARSE_LIMIT, Huge, is_api_error, read_line
from ccprompt.sources.entry import TAIL as TAIL_KEEP
from ccprompt.sources.entry import (  # noqa: F401  (the names callers of the old scanner use)
    ERROR_PREFIX,
    _parse_with_datetime,
    parse_api_error,
    parse_timestamp,
    prompt_kind,
)

MEMORY_DIR = "transcripts"
MEMORY_VERSION = 1
MEMORY_LIMIT = 256 * 1024
MEMORY_MAX_AGE_S = 7 * 86400
CHUNK = 256 * 1024
FIRST_CHUNK = 64 * 1024  # reading backwards starts small and doubles up to CHUNK
DELTA_LIMIT = 32 << 20
BACK_LIMIT = 8 << 20
# Reading backwards goes on past the newest reply for this many replies more (the context's
# recent growth), but never more than BEYOND_REPLY bytes further.
REPLIES_WANTED = 4
BEYOND_REPLY = 1 << 20
MARK = 16
_FLAGS = oslite.O_RDONLY | oslite.O_NONBLOCK | oslite.O_CLOEXEC


class Stats:
    """What one reading did, for `TranscriptScan` and the debug log."""

    __slots__ = ("lines", "skipped", "bytes", "how")

    def __init__(self):
        self.lines = self.skipped = self.bytes = 0
        self.how = "none"


# -- line splitting, forwards and backwards, bounded for lines of any size --------------------


class _Line:
    """The pieces of one line as they are read: whole up to PARSE_LIMIT, else head and tail only."""

    __slots__ = ("pieces", "size", "head", "tail", "backwards")

    def __init__(self, backwards: bool = False):
        self.pieces, self.size, self.head, self.tail, self.backwards = [], 0, b"", b"", backwards

    def add(self, piece: bytes) -> None:
        if not piece:
            return
        self.size += len(piece)
        if self.head or self.tail:  # already huge: keep the ends only
            if self.backwards:
                self.head = (piece + self.head)[:HEAD_KEEP]
            else:
                self.tail = (self.tail + piece)[-TAIL_KEEP:]
            return
        self.pieces.append(piece)
        if self.size > PARSE_LIMIT:
            whole = b"".join(reversed(self.pieces) if self.backwards else self.pieces)
            self.head, self.tail, self.pieces = whole[:HEAD_KEEP], whole[-TAIL_KEEP:], []

    def take(self):
        if self.head or self.tail:
            line = Huge(self.head, self.tail, self.size)
        else:
            line = b"".join(reversed(self.pieces) if self.backwards else self.pieces)
        self.pieces, self.size, self.head, self.tail = [], 0, b"", b""
        return line


def forward(fd: int, start: int, end: int, stats: Stats):
    """(complete lines from `start`, the offset after the last of them, the partial line after it or None)."""
    lines = []
    current = _Line()
    pos = done = start
    while pos < end:
        chunk = oslite.pread(fd, min(CHUNK, end - pos), pos)
        if not chunk:
            break
        stats.bytes += len(chunk)
        at = 0
        while True:
            newline = chunk.find(b"\n", at)
            if newline < 0:
                current.add(chunk[at:])
                break
            current.add(chunk[at:newline])
            lines.append(current.take())
            at = newline + 1
            done = pos + at
        pos += len(chunk)
    partial = current.take() if current.size else None
    return lines, done, partial


def backward(fd: int, size: int, stats: Stats, enough):
    """The entries of the lines before the end, read backwards until `enough(entry)` says so or
    BACK_LIMIT bytes are read: (entries oldest first, the partial last line or None, whether
    the start of the file was reached)."""
    found = []
    partial = None
    current = _Line(backwards=True)
    pos = size
    trailing = True  # the bytes after the last newline: a line still being written
    step = FIRST_CHUNK
    while pos > 0 and stats.bytes < BACK_LIMIT:
        start = max(0, pos - step)
        step = min(step * 2, CHUNK)
        chunk = oslite.pread(fd, pos - start, start)
        if len(chunk) != pos - start:
            break
        stats.bytes += len(chunk)
        cut = len(chunk)
        while True:
            newline = chunk.rfind(b"\n", 0, cut)
            if newline < 0:
                current.add(chunk[:cut])
                break
            current.add(chunk[newline + 1:cut])
            line = current.take()
            cut = newline
            if trailing:
                partial, trailing = (line if isinstance(line, Huge) or line else None), False
                continue
            entry = _entry(line, stats)
            if entry is not None:
                found.append(entry)
            if enough(entry):
                found.reverse()
                return found, partial, False
        pos = start
    if pos == 0:
        line = current.take()
        if trailing:
            partial = line if isinstance(line, Huge) or line else None
        else:
            entry = _entry(line, stats)
            if entry is not None:
                found.append(entry)
    found.reverse()
    return found, partial, pos == 0


# -- folding ---------------------------------------------------------------------------------


def _entry(line, stats: Stats):
    try:
        entry = read_line(line)
    except ValueError:
        stats.skipped += 1
        return None
    if entry is not None:
        stats.lines += 1
    return entry


def _fold(summary: SessionSummary, entries) -> None:
    from ccprompt.sources.sessions.scan import fold_entry

    for entry in entries:
        fold_entry(summary, entry)


def _with_partial(summary: SessionSummary, partial, stats: Stats) -> SessionSummary:
    """The summary with a last line that is already whole JSON, though not yet ended (not remembered)."""
    if partial is None or isinstance(partial, Huge) or not partial.strip():
        return summary
    try:
        entry = read_line(partial)
    except ValueError:
        return summary
    if entry is None:
        return summary
    shown = SessionSummary.from_dict(summary.to_dict())
    from ccprompt.sources.sessions.scan import fold_entry

    fold_entry(shown, entry)
    return shown


class _Enough:
    """Reading backwards: stop once the newest reply, and a few before it, are in."""

    __slots__ = ("replies", "stats", "first_reply_at")

    def __init__(self, stats: Stats):
        self.replies, self.stats, self.first_reply_at = 0, stats, None

    def __call__(self, entry) -> bool:
        if self.first_reply_at is not None and self.stats.bytes - self.first_reply_at > BEYOND_REPLY:
            return True
        if entry is None or entry.get("type") != "assistant" or entry.get("isSidechain") is True:
            return False
        message = entry.get("message") if isinstance(entry.get("message"), dict) else {}
        if is_api_error(entry, message) or message.get("model") == "<synthetic>":
            return False
        self.replies += 1
        if self.first_reply_at is None:
            self.first_reply_at = self.stats.bytes
        return self.replies >= REPLIES_WANTED


def summarise(fd: int, info, memory: dict | None, stats: Stats, full_limit: int = 0):
    """(memory to keep, summary to show) for an open transcript, from what `memory` held.

    `full_limit`: a file first seen at or below this size is read whole, from its start
    (`sessions` counts a whole session); past it, or with 0, it is read backwards.
    """
    size = info.st_size
    if memory is not None and memory.get("size") == size and memory.get("mtime_ns") == info.st_mtime_ns:
        stats.how = "unchanged"
        summary = SessionSummary.from_dict(memory.get("summary") or {})
        return memory, summary
    offset = memory.get("offset") if memory is not None else None
    grown = (isinstance(offset, int) and 0 <= offset <= size and size - offset <= DELTA_LIMIT
             and memory.get("size", 0) <= size and _mark(fd, offset) == memory.get("mark"))
    if grown:
        stats.how = "appended"
        summary = SessionSummary.from_dict(memory.get("summary") or {})
        lines, done, partial = forward(fd, offset, size, stats)
        entries = [e for e in (_entry(line, stats) for line in lines) if e is not None]
    elif size <= full_limit:
        stats.how = "whole"
        summary = SessionSummary()
        lines, done, partial = forward(fd, 0, size, stats)
        entries = [e for e in (_entry(line, stats) for line in lines) if e is not None]
    else:
        stats.how = "backwards"
        summary = SessionSummary()
        entries, partial, whole = backward(fd, size, stats, _Enough(stats))
        summary.partial = not whole
        done = size - (partial.length if isinstance(partial, Huge) else len(partial or b""))
    _fold(summary, entries)
    kept = {"v": MEMORY_VERSION, "dev": info.st_dev, "ino": info.st_ino, "size": size,
            "mtime_ns": info.st_mtime_ns, "offset": done, "mark": _mark(fd, done), "summary": summary.to_dict()}
    return kept, _with_partial(summary, partial, stats)


def _mark(fd: int, offset: int) -> str:
    """The last few bytes before `offset`, to know the file was appended to, not rewritten."""
    if offset <= 0:
        return ""
    start = max(0, offset - MARK)
    try:
        return oslite.pread(fd, offset - start, start).hex()
    except OSError:
        return "?"


# -- the memory ------------------------------------------------------------------------------


def memory_dir(paths) -> str | None:
    """Where readings are remembered, or None when the state directory is not safe to use."""
    if files.unsafe_dir(paths.state_dir):
        return None
    return paths.in_state(MEMORY_DIR)


def _memory_file(directory: str, path: str) -> str:
    base = oslite.basename(path)
    safe = "".join(ch for ch in base[:-6] if ch.isalnum() or ch in "-_")[:64] if base.endswith(".jsonl") else ""
    digest = 0xCBF29CE484222325  # FNV-1a of the whole path: two projects may share a file name
    for byte in path.encode("utf-8", "surrogateescape"):
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return oslite.join(directory, f"{safe or 'transcript'}-{digest:016x}.json")


def _recall(target: str, path: str, info):
    try:
        raw = fastjson.loads(files.read_regular(target, MEMORY_LIMIT, owned=True))
    except (OSError, ValueError, RecursionError):
        return None
    if (not isinstance(raw, dict) or raw.get("v") != MEMORY_VERSION or raw.get("path") != path
            or raw.get("dev") != info.st_dev or raw.get("ino") != info.st_ino
            or not isinstance(raw.get("summary"), dict)):
        return None
    return raw


def _keep(directory: str, target: str, memory: dict, fresh: bool) -> None:
    """Best effort: a state directory that cannot be written costs speed, never the line."""
    try:
        if files.unsafe_dir(directory):
            return
        files.private_dir(directory)
        files.atomic_write(target, files.encode(fastjson.dumps(memory)), durable=False)
        if fresh:
            _sweep(directory)
    except (OSError, ValueError, TypeError):
        pass


def _sweep(directory: str) -> None:
    import time

    now_s = time.time()
    for name in oslite.listdir(directory):
        if name.endswith(".json"):
            try:
                if now_s - oslite.lstat(oslite.join(directory, name)).st_mtime > MEMORY_MAX_AGE_S:
                    oslite.unlink(oslite.join(directory, name))
            except OSError:
                continue
    files.sweep_temps(directory)


def read(path, remember_in: str | None = None, stats: Stats | None = None):
    """The summary of one transcript's current turn (counts cover what was read), or None.

    `remember_in`: the directory for the memory (see `memory_dir`); None reads afresh,
    bounded, and keeps nothing. Never raises for a bad file: an unreadable one gives None.
    """
    stats = stats if stats is not None else Stats()
    if not isinstance(path, str) or not path or "\0" in path:
        return None
    try:
        fd = oslite.open(path, _FLAGS)
    except (OSError, ValueError):
        return None
    try:
        info = oslite.fstat(fd)
        if not oslite.S_ISREG(info.st_mode):
            return None
        target = _memory_file(remember_in, path) if remember_in else None
        memory = _recall(target, path, info) if target else None
        kept, summary = summarise(fd, info, memory, stats)
    except OSError:
        return None
    finally:
        oslite.close(fd)
    if target and kept is not memory:
        kept["path"] = path
        _keep(remember_in, target, kept, memory is None)
    summary.path = path
    return summary


def to_scan(summary: SessionSummary | None, now_s: float | None = None, recent_s: int = 600,
            stats: Stats | None = None) -> TranscriptScan:
    """The status line's view of a summary: the last API error, a waiting turn and its attempts, usage."""
    scan = TranscriptScan()
    if summary is None:
        return scan
    scan.read = True
    if stats is not None:
        scan.lines, scan.skipped = stats.lines, stats.skipped
    scan.model = summary.model
    scan.usage_tokens = summary.context_tokens
    scan.last_reply_epoch_s = summary.reply_s
    waiting = summary.waiting_since_s
    if waiting and waiting > 0:
        scan.waiting_since_epoch_s = waiting
        scan.attempts = summary.attempts
        scan.attempt_epoch_s = summary.attempt_s
    error = summary.last_error
    if isinstance(error, dict):
        epoch = error.get("epoch_s")
        event = {"timestamp": None, "epoch_s": epoch, "code": error.get("code"), "type": error.get("type"),
                 "message": error.get("message")}
        if isinstance(epoch, (int, float)):
            from datetime import datetime

            event["timestamp"] = datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="milliseconds")
        scan.error = event
        scan.unresolved = bool(summary.error_unresolved)
        if now_s is not None and isinstance(epoch, (int, float)):
            scan.recent = 0 <= now_s - epoch < recent_s or (epoch > now_s and epoch - now_s < 60)
    return scan


def scan(path, tail_kb=None, now_s: float | None = None, recent_s: int = 600,
         remember_in: str | None = None) -> TranscriptScan:
    """`read` then `to_scan`. `tail_kb` is accepted for old callers and ignored: the reader finds
    the current turn whatever the size of the lines around it."""
    del tail_kb
    stats = Stats()
    return to_scan(read(path, remember_in, stats), now_s, recent_s, stats)
