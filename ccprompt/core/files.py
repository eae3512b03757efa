"""Every file ccprompt writes or reads from a place it does not control goes through here.

- Writes never follow a symlink (`O_NOFOLLOW`); temp files get `O_EXCL` and an
  unpredictable name, and only a file just created is ever chmod-ed (through its fd).
- Directories ccprompt creates are 0700 whatever the umask, and a state directory
  another user could write to is refused (`unsafe_dir`).
- Reads of foreign files (transcripts, `.git/HEAD`, caches) open with `O_NONBLOCK`,
  accept only regular files, and are capped in size, so a FIFO or a device never hangs.
- A file of ccprompt's own state (caches, the state, the history) is read only from a state
  directory that passes `unsafe_dir`, never through a symlink, and only when the user owns
  it (`core.statedir`): what another user planted is never used.
- Reads of a pipe or socket (the status line's stdin) stop at EOF, 1 MB, 200 ms of silence or 1 s.
"""

import time

from ccprompt.core import oslite

TEMP_SUFFIX = ".tmp"
TEMP_MAX_AGE_S = 60
PIPE_LIMIT = 1 << 20
PIPE_IDLE_S = 0.2
PIPE_TOTAL_S = 1.0
_NOFOLLOW = oslite.O_NOFOLLOW
_NONBLOCK = oslite.O_NONBLOCK
_CLOEXEC = oslite.O_CLOEXEC


def private_dir(path: str) -> str:
    """Create `path` (and missing parents) as 0700 directories; return it.

    An existing directory is left as it is: its owner and mode are `unsafe_dir`'s business.
    """
    missing = []
    probe = oslite.abspath(path)
    while not oslite.isdir(probe):
        missing.append(probe)
        parent = oslite.dirname(probe)
        if parent == probe:
            break
        probe = parent
    for directory in reversed(missing):
        try:
            oslite.mkdir(directory, 0o700)
        except FileExistsError:
            continue
        oslite.chmod(directory, 0o700)  # just created by us: the umask must not widen or narrow it
    return path


def unsafe_dir(path: str, uid: int | None = None) -> str | None:
    """Why `path` must not hold ccprompt's state, or None when it is fine (or missing).

    A directory owned by someone else, or writable by group or others, lets another local
    user plant caches that a shell evaluates, or symlinks that redirect our writes.
    """
    uid = oslite.getuid() if uid is None else uid
    try:
        info = oslite.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot check {path}: {exc.strerror}"
    if not oslite.S_ISDIR(info.st_mode):
        return f"{path} is not a directory"
    if info.st_uid != uid:
        return f"{path} belongs to another user (uid {info.st_uid})"
    if info.st_mode & 0o022:
        return f"{path} is writable by others (mode {info.st_mode & 0o777:o}); fix: chmod 700 {path}"
    return None


def _temp_name(path: str) -> str:
    directory, name = oslite.split(path)
    return oslite.join(directory or ".", f".{name}.{oslite.urandom(6).hex()}{TEMP_SUFFIX}")


def encode(text: str) -> bytes:
    """UTF-8 that never raises: a lone surrogate from a server becomes `?`."""
    return text.encode("utf-8", "replace")


def atomic_write(path: str, data: bytes, mode: int = 0o600, durable: bool = True) -> None:
    """Write a file so readers see the old or the new content, never a mix.

    A new temp file in the same directory (O_EXCL, O_NOFOLLOW, random name), written in
    full and fsynced, then renamed over the target. Renaming replaces a symlink at `path`
    itself, never its target. On any failure the temp file is removed. `durable=False` (a
    cache a crash may lose, never seen torn) skips both fsyncs."""
    directory = oslite.dirname(path) or "."
    temp = _temp_name(path)
    try:
        fd = oslite.open(temp, oslite.O_WRONLY | oslite.O_CREAT | oslite.O_EXCL | _NOFOLLOW | _CLOEXEC, mode)
        try:
            oslite.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[oslite.write(fd, view):]
            if durable:
                oslite.fsync(fd)
        finally:
            oslite.close(fd)
        oslite.replace(temp, path)
    except BaseException:
        try:
            oslite.unlink(temp)
        except OSError:
            pass
        raise
    if not durable:
        return
    try:
        dir_fd = oslite.open(directory, oslite.O_RDONLY)
        try:
            oslite.fsync(dir_fd)
        finally:
            oslite.close(dir_fd)
    except OSError:
        pass


def sweep_temps(directory: str, now_s: float | None = None, max_age_s: float = TEMP_MAX_AGE_S) -> int:
    """Remove our own temp files left by a killed writer, once they are a minute old."""
    now_s = time.time() if now_s is None else now_s
    removed = 0
    try:
        names = oslite.listdir(directory)
    except OSError:
        return 0
    for name in names:
        if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
            continue
        path = oslite.join(directory, name)
        try:
            info = oslite.lstat(path)
            if info.st_uid == oslite.getuid() and now_s - info.st_mtime > max_age_s:
                oslite.unlink(path)
                removed += 1
        except OSError:
            continue
    return removed


def open_append(path: str) -> int:
    """An O_APPEND descriptor for a regular file of ours; never follows a symlink or blocks on a FIFO."""
    fd = oslite.open(path, oslite.O_WRONLY | oslite.O_CREAT | oslite.O_APPEND | _NOFOLLOW | _NONBLOCK | _CLOEXEC, 0o600)
    if not oslite.S_ISREG(oslite.fstat(fd).st_mode):
        oslite.close(fd)
        raise OSError(f"{path} is not a regular file")
    return fd


def append_line(path: str, line: bytes, limit_bytes: int) -> None:
    """Append one line; first move the file to `<path>.1` if the line would pass the limit.

    So the file and its one rotated predecessor never hold more than twice the limit.
    """
    try:
        if oslite.lstat(path).st_size + len(line) > limit_bytes:
            oslite.replace(path, path + ".1")
    except OSError:
        pass
    fd = open_append(path)
    try:
        oslite.write(fd, line)
    finally:
        oslite.close(fd)


def append_jsonl(path: str, record: dict, limit_bytes: int) -> None:
    """Append one JSON line (see `append_line`)."""
    import json

    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str)
    append_line(path, encode(text + "\n"), limit_bytes)


def read_regular(path: str, limit: int, owned: bool = False) -> bytes:
    """At most `limit` bytes of a regular file. Raises OSError for anything else.

    O_NONBLOCK makes opening a FIFO return at once; fstat then refuses it, and devices.
    `owned`: not through a symlink, and only a file of the user's own.
    """
    fd = oslite.open(path, oslite.O_RDONLY | _NONBLOCK | _CLOEXEC | (_NOFOLLOW if owned else 0))
    try:
        _check_regular(path, oslite.fstat(fd), owned)
        return _read_up_to(fd, limit)
    finally:
        oslite.close(fd)


def _check_regular(path: str, info, owned: bool) -> None:
    if not oslite.S_ISREG(info.st_mode):
        raise OSError(f"{path} is not a regular file")
    if owned and info.st_uid != oslite.getuid():
        raise OSError(f"{path} belongs to another user (uid {info.st_uid})")


def _read_up_to(fd: int, limit: int) -> bytes:
    chunks = []
    left = limit
    while left > 0:
        chunk = oslite.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_tail(path: str, limit: int, owned: bool = False) -> tuple[bytes, bool]:
    """The last `limit` bytes of a regular file, and whether the file is longer than that."""
    fd = oslite.open(path, oslite.O_RDONLY | _NONBLOCK | _CLOEXEC | (_NOFOLLOW if owned else 0))
    try:
        info = oslite.fstat(fd)
        _check_regular(path, info, owned)
        start = max(0, info.st_size - limit)
        oslite.lseek(fd, start, oslite.SEEK_SET)
        return _read_up_to(fd, limit), start > 0
    finally:
        oslite.close(fd)


class FileLock:
    """An exclusive flock on a file of ours, which records the holder's pid and a note.

    The record is a fixed 32 bytes rewritten in place, so once the file exists, marking it
    needs no new disk space (a full disk must not hide that the last write failed).
    Closing the descriptor drops the lock, so a killed holder never leaves it taken.
    """

    RECORD = 32

    def __init__(self, path: str):
        self.path = path
        self.fd = None

    def _open(self) -> int:
        return oslite.open(self.path, oslite.O_RDWR | oslite.O_CREAT | _NOFOLLOW | _NONBLOCK | _CLOEXEC, 0o600)

    def acquire(self, blocking: bool = True, timeout_s: float | None = None) -> bool:
        import fcntl

        fd = self._open()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not blocking or (deadline is not None and time.monotonic() >= deadline):
                    oslite.close(fd)
                    return False
                time.sleep(0.02)
        self.fd = fd
        self._write("held")
        try:
            oslite.utime(fd)  # the attempt's time, recorded even when nothing else can be written
        except (OSError, NotImplementedError, TypeError):
            self.touch()
        return True

    def _write(self, word: str) -> None:
        record = f"{oslite.getpid()} {word}".ljust(self.RECORD - 1)[: self.RECORD - 1] + "\n"
        try:
            oslite.pwrite(self.fd, record.encode(), 0)
        except OSError:
            pass  # a full disk still leaves the lock itself working

    def mark(self, word: str) -> None:
        """While held: leave a word after the pid (`saved`, `unsaved`, `idle`) for the next holder."""
        if self.fd is not None:
            self._write(word)

    def release(self, clear: bool = False) -> None:
        """Drop the lock; `clear` empties the file (no pid left behind), else its note stays."""
        if self.fd is not None:
            if clear:
                try:
                    oslite.ftruncate(self.fd, 0)
                except OSError:
                    pass
            oslite.close(self.fd)
            self.fd = None

    def _record(self) -> list:
        try:
            fd = oslite.open(self.path, oslite.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC)
        except OSError:
            return []
        try:
            return oslite.pread(fd, 64, 0).decode("ascii", "replace").split()
        except OSError:
            return []
        finally:
            oslite.close(fd)

    def peek(self) -> str:
        """The word the last holder left (`saved`, `unsaved`, …); `` for an empty or missing file."""
        parts = self._record()
        return parts[1] if len(parts) > 1 else ""

    def last_write_failed(self, now_s: float, within_s: float) -> bool:
        """The last holder could not save its result (it said so, or could not even write its
        pid: an empty lock file on a full disk) less than `within_s` ago."""
        stamp = self.stamped_at()
        if not stamp or not 0 <= now_s - stamp < within_s:
            return False
        try:
            empty = oslite.stat(self.path).st_size == 0
        except OSError:
            return False
        return empty or self.peek() == "unsaved"

    def holder(self) -> int | None:
        """The pid written by whoever holds the lock now (0 if unknown), or None when it is free."""
        import fcntl

        try:
            fd = oslite.open(self.path, oslite.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC)
        except OSError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return None  # nobody holds it
            except BlockingIOError:
                pass
            # The holder writes its pid just after locking; give it a moment if we raced it.
            for _ in range(10):
                text = oslite.pread(fd, 32, 0).decode("ascii", "replace").split()
                if text and text[0].isdigit():
                    return int(text[0])
                time.sleep(0.02)
            return 0
        finally:
            oslite.close(fd)

    def is_free(self) -> bool:
        return self.holder() is None

    def touch(self) -> None:
        """Stamp the lock file's mtime: a record that needs no free disk space."""
        try:
            oslite.utime(self.path)
        except OSError:
            pass

    def stamped_at(self) -> float:
        try:
            return oslite.stat(self.path).st_mtime
        except OSError:
            return 0.0

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


def read_pipe(fd: int = 0) -> bytes:
    """Read until EOF, ~200 ms of silence, 1 MB or 1 s in all, whichever comes first.

    Claude Code (through Node, which hands its children a socketpair) writes its payload and
    closes its end at once, so a pipe or socket is first read without waiting: by the time
    Python is up that usually meets EOF, and `select` (an extension module to load) is
    needed only when a writer still holds it open. The descriptor is left in blocking mode
    as it was found; a terminal or a file is waited on with `select` from the start.
    """
    chunks, size = [], 0
    deadline = time.monotonic() + PIPE_TOTAL_S
    was_blocking = _unblock(fd)
    waiting = was_blocking is None
    wait_readable = None
    try:
        while size < PIPE_LIMIT:
            if waiting:
                wait = min(PIPE_IDLE_S, deadline - time.monotonic())
                if wait <= 0:
                    break
                if wait_readable is None:
                    from select import select as wait_readable
                try:
                    if not wait_readable([fd], [], [], wait)[0]:
                        break
                except (OSError, ValueError):
                    break
            try:
                chunk = oslite.read(fd, min(65536, PIPE_LIMIT - size))
            except BlockingIOError:
                waiting = True  # the writer is still there
                continue
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        if was_blocking is not None:
            try:
                oslite.set_blocking(fd, was_blocking)
            except OSError:
                pass
    return b"".join(chunks)


def _unblock(fd: int):
    """Put a pipe or socket in non-blocking mode; its former mode, or None for anything else."""
    try:
        mode = oslite.fstat(fd).st_mode
        if not (oslite.S_ISFIFO(mode) or oslite.S_ISSOCK(mode)):
            return None
        blocking = oslite.get_blocking(fd)
        oslite.set_blocking(fd, False)
        return blocking
    except OSError:
        return None
