"""Reading a copy of a response for analysis: content decoding and incremental server-sent events.

Both bound what they hold: decoded output comes in steps, and an SSE line longer than
MAX_LINE_BYTES is skipped rather than buffered.
"""

from __future__ import annotations

import zlib

MAX_LINE_BYTES = 1024 * 1024  # an SSE line longer than this is skipped, not buffered
DECOMPRESS_STEP = 1024 * 1024


def decoder_for(encoding):
    """A function bytes -> iterable of decoded bytes, or None when the encoding can't be read here."""
    if encoding in (None, "", "identity"):
        return lambda data: (data,)
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _ZlibDecoder()
    if encoding == "br":
        module = _optional_module("brotli", "brotlicffi")
        if module is not None:
            decompressor = module.Decompressor()
            step = getattr(decompressor, "process", None) or decompressor.decompress
            return lambda data: (step(data),)
    if encoding == "zstd":
        module = _optional_module("zstandard")
        if module is not None:
            stream = module.ZstdDecompressor().decompressobj()
            return lambda data: (stream.decompress(data),)
    return None


def _optional_module(*names):
    import importlib

    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


class _ZlibDecoder:
    """gzip or zlib-wrapped deflate (auto-detected), falling back to raw deflate; output in bounded steps."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)
        self._started = False

    def __call__(self, data: bytes):
        if not self._started:
            self._started = True
            try:
                probe = zlib.decompressobj(zlib.MAX_WBITS | 32)
                probe.decompress(data[:64], 1)
            except zlib.error:
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        while data:
            out = self._inflate.decompress(data, DECOMPRESS_STEP)
            if out:
                yield out
            data = self._inflate.unconsumed_tail
            if self._inflate.eof:
                return


class SSEParser:
    """Incremental server-sent events: yields (event name, data) per blank-line-terminated event."""

    __slots__ = ("_buf", "_skipping", "_name", "_data", "oversized", "malformed")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._skipping = False
        self._name = ""
        self._data: list = []
        self.oversized = 0
        self.malformed = 0

    def feed(self, data: bytes):
        events = []
        buf = self._buf
        buf.extend(data)
        start = 0
        while True:
            newline = buf.find(b"\n", start)
            if newline < 0:
                break
            line = bytes(buf[start:newline])
            start = newline + 1
            if self._skipping:
                self._skipping = False
                continue
            self._line(line.rstrip(b"\r"), events)
        del buf[:start]
        if len(buf) > MAX_LINE_BYTES:
            buf.clear()
            if not self._skipping:
                self.oversized += 1
            self._skipping = True
            self._data = []
        return events

    def _line(self, line: bytes, events: list) -> None:
        if not line:
            if self._data or self._name:
                events.append((self._name, "\n".join(self._data)))
            self._name = ""
            self._data = []
            return
        if line.startswith(b":"):
            return
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        text = value.decode("utf-8", "replace")
        if field == b"event":
            self._name = text[:100]
        elif field == b"data":
            if sum(len(part) for part in self._data) + len(text) > MAX_LINE_BYTES:
                self.oversized += 1
                self._data = []
            else:
                self._data.append(text)
        else:
            self.malformed += 1
