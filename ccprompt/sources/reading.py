"""Reading a transcript's lines for the transcript reader (`sources.transcript`): forwards from
an offset, or backwards from the end past lines of any size, folded into a `SessionSummary`.

Loaded only when a transcript has changed since the reader last saw it: a steady render
never imports this module (nor `sources.entry` or the session rules).
"""

from ccprompt.core import oslite
from ccprompt.core.session_rules import SessionSummary
from ccprompt.sources.entry import HEAD as HEAD_KEEP
from ccprompt.sources.entry import PARSE_LIMIT, Huge, is_api_error, read_line
from ccprompt.sources.entry import TAIL as TAIL_KEEP
from ccprompt.sources.sessions.scan import fold_entry

CHUNK = 256 * 1024
FIRST_CHUNK = 64 * 1024  # reading backwards starts small and doubles up to CHUNK
DELTA_LIMIT = 32 << 20
BACK_LIMIT = 8 << 20
# Reading backwards goes on past the newest reply for this many replies more (the context's
# recent growth), but never more than BEYOND_REPLY bytes further.
REPLIES_WANTED = 4
BEYOND_REPLY = 1 << 20
MARK = 16


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


def forward(fd: int, start: int, end: int, stats):
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


def backward(fd: int, size: int, stats, enough):
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


def _entry(line, stats):
    try:
        entry = read_line(line)
    except ValueError:
        stats.skipped += 1
        return None
    if entry is not None:
        stats.lines += 1
    return entry


def _fold(summary: SessionSummary, entries) -> None:
    for entry in entries:
        fold_entry(summary, entry)


def _with_partial(summary: SessionSummary, partial) -> SessionSummary:
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
    fold_entry(shown, entry)
    return shown


class _Enough:
    """Reading backwards: stop once the newest reply, and a few before it, are in."""

    __slots__ = ("replies", "stats", "first_reply_at")

    def __init__(self, stats):
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


def summarise(fd: int, info, memory: dict | None, stats, full_limit: int = 0):
    """(memory to keep, summary to show) for an open transcript, from what `memory` held.

    `stats` is a `transcript.Stats`, counting what this reading did.
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
    if grown or size <= full_limit:  # the appended lines, or a small file whole from its start
        stats.how = "appended" if grown else "whole"
        summary = SessionSummary.from_dict(memory.get("summary") or {}) if grown else SessionSummary()
        lines, done, partial = forward(fd, offset if grown else 0, size, stats)
        entries = [e for e in (_entry(line, stats) for line in lines) if e is not None]
    else:
        stats.how = "backwards"
        summary = SessionSummary()
        entries, partial, whole = backward(fd, size, stats, _Enough(stats))
        summary.partial = not whole
        done = size - (partial.length if isinstance(partial, Huge) else len(partial or b""))
    _fold(summary, entries)
    kept = {"dev": info.st_dev, "ino": info.st_ino, "size": size,
            "mtime_ns": info.st_mtime_ns, "offset": done, "mark": _mark(fd, done), "summary": summary.to_dict()}
    return kept, _with_partial(summary, partial)


def _mark(fd: int, offset: int) -> str:
    """The last few bytes before `offset`, to know the file was appended to, not rewritten."""
    if offset <= 0:
        return ""
    start = max(0, offset - MARK)
    try:
        return oslite.pread(fd, offset - start, start).hex()
    except OSError:
        return "?"
