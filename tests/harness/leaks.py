"""Secret-leak detection: the test API key must never show up in output, logs or files."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Iterator, Union

TEST_KEY = "sk-ant-api03-ccprompt-test-SECRET-0123456789abcdef"

Scannable = Union[str, bytes, os.PathLike, subprocess.CompletedProcess]


def assert_no_secret(*places: Scannable, secret: str = TEST_KEY) -> None:
    """Fail if ``secret`` occurs in any of ``places``.

    ``str``/``bytes`` are scanned as text, ``pathlib.Path`` (any PathLike) as a
    file or, recursively, a directory, and a CompletedProcess by its stdout and
    stderr. The failure names every place with a hit and shows the secret redacted.
    """
    needle = secret.encode("utf-8")
    hits = []
    for label, data in _expand(places):
        offset = data.find(needle)
        if offset >= 0:
            hits.append(f"{label} at byte {offset}: ...{_context(data, offset, needle)}...")
    if hits:
        raise AssertionError("secret leaked in:\n  " + "\n  ".join(hits))


def _expand(places) -> Iterator[tuple[str, bytes]]:
    for index, place in enumerate(places):
        if isinstance(place, subprocess.CompletedProcess):
            for stream in ("stdout", "stderr"):
                yield f"process {stream}", _as_bytes(getattr(place, stream) or b"")
        elif isinstance(place, (str, bytes)):
            yield f"text argument #{index}", _as_bytes(place)
        elif isinstance(place, os.PathLike):
            yield from _scan_path(Path(place))
        else:
            raise TypeError(f"cannot scan {type(place).__name__}: pass str, bytes, Path or CompletedProcess")


def _scan_path(path: Path) -> Iterator[tuple[str, bytes]]:
    if path.is_dir():
        for root, _dirs, files in os.walk(path):  # does not descend into symlinked dirs
            for name in sorted(files):
                yield from _scan_file(Path(root) / name)
    elif path.exists():
        yield from _scan_file(path)
    else:
        raise AssertionError(f"assert_no_secret: {path} does not exist")


def _scan_file(path: Path) -> Iterator[tuple[str, bytes]]:
    # Only regular files: reading a FIFO or socket a daemon left behind would block.
    if stat.S_ISREG(path.stat().st_mode):
        yield str(path), path.read_bytes()


def _as_bytes(data: str | bytes) -> bytes:
    return data if isinstance(data, bytes) else data.encode("utf-8", "surrogateescape")


def _context(data: bytes, offset: int, needle: bytes, width: int = 30) -> str:
    before = data[max(0, offset - width):offset]
    after = data[offset + len(needle):offset + len(needle) + width]
    return (before + b"<SECRET>" + after).decode("utf-8", "replace")
