"""Where analysis results go: requests.jsonl (0600, rotated, no symlinks) and the optional capture files,
both written through `core/files` (the same append, rotation and symlink checks as every state file).

Everything here runs on the analysis thread. Every OS error is counted and swallowed:
a full disk or a bad path costs records, never a byte of the forwarded traffic.
"""

from __future__ import annotations

import itertools
import os
import threading
import time

from ccprompt.core import files

EVENTS_FILE = "requests.jsonl"
EVENTS_LIMIT_BYTES = 8 * 1024 * 1024
CAPTURE_KEEP_FILES = 400
CAPTURE_FILE_LIMIT_BYTES = 64 * 1024 * 1024

# A header whose name holds one of these words may carry a credential: its value is replaced in
# capture files (x-api-key, anthropic-api-key, Authorization, Proxy-Authorization, Cookie,
# Set-Cookie, x-auth-token, x-client-secret, ...).
SECRET_WORDS = ("key", "token", "auth", "cookie", "secret")
REDACTED = "[redacted]"


def is_secret_header(name: str) -> bool:
    lower = name.lower()
    return any(word in lower for word in SECRET_WORDS)


class Counters:
    """Failure counts the health endpoint reports. Plain ints: one writer thread, readers tolerate a stale value."""

    __slots__ = ("events_written", "sink_errors", "callback_errors", "analysis_errors", "analysis_dropped",
                 "capture_errors")

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


class JsonlSink:
    """Appends one JSON line per event, moving the file to `.1` before it would pass the limit."""

    def __init__(self, path: str | None, counters: Counters, limit_bytes: int = EVENTS_LIMIT_BYTES) -> None:
        self.path = path
        self.counters = counters
        self.limit_bytes = limit_bytes

    def write(self, event: dict) -> None:
        if not self.path:
            return
        try:
            files.append_jsonl(self.path, event, self.limit_bytes)
            self.counters.events_written += 1
        except (OSError, ValueError, TypeError):
            self.counters.sink_errors += 1


def redact_headers(pairs) -> list:
    """(name, value) pairs with credential-bearing values replaced."""
    return [(name, REDACTED if is_secret_header(name) else value) for name, value in pairs]


class CaptureWriter:
    """`--capture DIR`: one request file and one response file per attempt, auth headers redacted.

    Files are 0600 in a 0700 directory; only the newest CAPTURE_KEEP_FILES are kept.
    """

    def __init__(self, directory: str, counters: Counters, keep_files: int = CAPTURE_KEEP_FILES,
                 file_limit_bytes: int = CAPTURE_FILE_LIMIT_BYTES) -> None:
        self.directory = os.path.abspath(directory)
        self.counters = counters
        self.keep_files = keep_files
        self.file_limit_bytes = file_limit_bytes
        self._serial = itertools.count(1)
        self._lock = threading.Lock()
        files.private_dir(self.directory)

    def open(self, side: str, stem: str):
        """An append-only handle for one side of one attempt, or None if the file cannot be made."""
        path = os.path.join(self.directory, f"{stem}.{side}")
        try:
            fd = files.open_append(path)
        except OSError:
            self.counters.capture_errors += 1
            return None
        return _CaptureFile(fd, self)

    def stem(self) -> str:
        return time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{next(self._serial):06d}"

    def prune(self) -> None:
        try:
            names = sorted(n for n in os.listdir(self.directory) if n.endswith((".request", ".response")))
            for name in names[: max(0, len(names) - self.keep_files)]:
                os.unlink(os.path.join(self.directory, name))
        except OSError:
            self.counters.capture_errors += 1


class _CaptureFile:
    __slots__ = ("fd", "owner", "written")

    def __init__(self, fd: int, owner: CaptureWriter) -> None:
        self.fd = fd
        self.owner = owner
        self.written = 0

    def head(self, first_line: str, headers) -> None:
        text = first_line + "\r\n" + "".join(f"{n}: {v}\r\n" for n, v in redact_headers(headers)) + "\r\n"
        self.write(text.encode("latin-1", "replace"))

    def write(self, data: bytes) -> None:
        if self.fd < 0 or self.written >= self.owner.file_limit_bytes:
            return
        data = data[: self.owner.file_limit_bytes - self.written]
        try:
            os.write(self.fd, data)
            self.written += len(data)
        except OSError:
            self.owner.counters.capture_errors += 1
            self.close()

    def close(self) -> None:
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = -1
