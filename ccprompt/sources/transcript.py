"""The one transcript reader: the current turn of a session, whatever the lines around it weigh.

The status line, the shell's session variables, `explain` and the probe worker read a
transcript through `read` (and `scan`, its status-line view); `sessions` and the MCP
tools through the same reading (`sources.reading.summarise`) kept in the sessions index;
`postmortem` reads every entry. All of them ask `sources.entry` what a line is and
`sessions.scan.fold_entry` what it means.

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
A steady render (nothing appended) imports none of the reading machinery: it checks the
file's identity against the memory and hands the remembered fields on.
Lines are told apart from their bytes (`entry.read_line`): a bookkeeping line is never
decoded, a line past `entry.PARSE_LIMIT` only has its ends looked at. A partial last line
(being written) counts for this reading if it is already whole JSON, and is read again
next time. Only regular files are read: a FIFO or a device never hangs it.
"""

from ccprompt.core import fastjson, files, oslite
from ccprompt.core.model import TranscriptScan
from ccprompt.core.text import number

MEMORY_DIR = "transcripts"
MEMORY_VERSION = 1
MEMORY_LIMIT = 256 * 1024
MEMORY_MAX_AGE_S = 7 * 86400
_FLAGS = oslite.O_RDONLY | oslite.O_NONBLOCK | oslite.O_CLOEXEC


def __getattr__(name):
    """The old scanner's names (`parse_timestamp`, `parse_api_error`, ...) and the reading's
    bounds (`BACK_LIMIT`, `CHUNK`, ...), loaded only when asked for: a steady render needs none."""
    from ccprompt.sources import entry, reading

    for module in (entry, reading):
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(name)


class Stats:
    """What one reading did, for `TranscriptScan` and the debug log."""

    __slots__ = ("lines", "skipped", "bytes", "how")

    def __init__(self):
        self.lines = self.skipped = self.bytes = 0
        self.how = "none"


class Reading:
    """One transcript's current turn as read now: the remembered fields (numbers and short labels,
    never content), and the `SessionSummary` they make, built only when asked for.

    `info` is the `os.stat` result the reading was made under (taken before any byte was read),
    so whatever is keyed on it is never newer than what was read."""

    __slots__ = ("fields", "path", "_summary", "info")

    def __init__(self, fields: dict, path: str, summary=None, info=None):
        self.fields, self.path, self._summary, self.info = fields, path, summary, info

    def summary(self):
        if self._summary is None:
            from ccprompt.core.session_rules import SessionSummary

            self._summary = SessionSummary.from_dict(self.fields)
            self._summary.path = self.path
        return self._summary


# -- the memory ------------------------------------------------------------------------------


def memory_dir(paths) -> str | None:
    """Where readings are remembered, or None when the state directory is not safe to use."""
    if files.unsafe_dir(paths.state_dir):
        return None
    return paths.in_state(MEMORY_DIR)


def _memory_file(directory: str, path: str) -> str:
    base = oslite.basename(path)
    safe = "".join(ch for ch in base[:-6] if ch.isalnum() or ch in "-_")[:64] if base.endswith(".jsonl") else ""
    # The whole path, folded to 64 bits (two projects may share a file name), in C: no hashlib.
    digest = int.from_bytes(path.encode("utf-8", "surrogateescape"), "big") % 0xFFFFFFFFFFFFFFC5
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


def read(path, remember_in: str | None = None, stats: Stats | None = None) -> Reading | None:
    """The current turn of one transcript (counts cover what was read), or None when unreadable.

    `remember_in`: the directory for the memory (see `memory_dir`); None reads afresh,
    bounded, and keeps nothing. Never raises for a bad file.
    """
    stats = stats if stats is not None else Stats()
    if not isinstance(path, str) or not path or "\0" in path:
        return None
    try:
        fd = oslite.open(path, _FLAGS)
    except (OSError, ValueError):
        return None
    target = memory = None
    try:
        info = oslite.fstat(fd)
        if not oslite.S_ISREG(info.st_mode):
            return None
        target = _memory_file(remember_in, path) if remember_in else None
        memory = _recall(target, path, info) if target else None
        if memory is not None and memory.get("size") == info.st_size and memory.get("mtime_ns") == info.st_mtime_ns:
            stats.how = "unchanged"  # the steady render: nothing of the transcript is read
            return Reading(memory["summary"], path, None, info)
        from ccprompt.sources import reading

        kept, summary = reading.summarise(fd, info, memory, stats)
    except OSError:
        return None
    finally:
        oslite.close(fd)
    if target:
        kept.update(v=MEMORY_VERSION, path=path)
        _keep(remember_in, target, kept, memory is None)
    summary.path = path
    return Reading(summary.to_dict(), path, summary, info)


def to_scan(turn: Reading | None, now_s: float | None = None, recent_s: int = 600,
            stats: Stats | None = None) -> TranscriptScan:
    """The status line's view of a reading: the last API error, a waiting turn and its attempts, usage."""
    scan = TranscriptScan()
    if turn is None:
        return scan
    fields = turn.fields
    scan.read = True
    if stats is not None:
        scan.lines, scan.skipped = stats.lines, stats.skipped
    scan.model = fields.get("model")
    scan.usage_tokens = fields.get("context_tokens")
    scan.last_reply_epoch_s = number(fields.get("reply_s"))
    waiting = number(fields.get("waiting_since_s"))
    if waiting and waiting > 0:
        scan.waiting_since_epoch_s = waiting
        attempts = fields.get("attempts")
        scan.attempts = attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else 0
        scan.attempt_epoch_s = number(fields.get("attempt_s"))
    error = fields.get("last_error")
    if isinstance(error, dict):
        epoch = number(error.get("epoch_s"))
        scan.error = {"timestamp": error.get("timestamp") if isinstance(error.get("timestamp"), str) else None,
                      "epoch_s": epoch, "code": error.get("code"), "type": error.get("type"),
                      "message": error.get("message")}
        scan.unresolved = fields.get("error_unresolved") is True
        if now_s is not None and epoch is not None:
            scan.recent = 0 <= now_s - epoch < recent_s or (epoch > now_s and epoch - now_s < 60)
    return scan


def scan(path, tail_kb=None, now_s: float | None = None, recent_s: int = 600,
         remember_in: str | None = None) -> TranscriptScan:
    """`read` then `to_scan`. `tail_kb` is accepted for old callers and ignored: the reader finds
    the current turn whatever the size of the lines around it."""
    del tail_kb
    stats = Stats()
    return to_scan(read(path, remember_in, stats), now_s, recent_s, stats)
