"""JSON decoding for the hot path without importing the `json` package.

`import json` pulls in `re` and `enum`, which costs about as much as starting the
interpreter itself. The C scanner behind `json` lives in `_json` and needs none of that,
so the status line and the prompt refresh check decode through it directly. Anything the
fast path cannot handle falls back to the standard decoder.
"""

_WHITESPACE = " \t\n\r"


class _Context:
    strict = False
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        return float(name.lower().replace("infinity", "inf"))


try:
    from _json import make_scanner as _make_scanner

    _scan_once = _make_scanner(_Context())
except Exception:  # an interpreter without the C accelerator
    _scan_once = None


class DecodeError(ValueError):
    """The text is not a single JSON document."""


def _slow_loads(text: str):
    import json

    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(str(exc)) from None


def loads(text: str | bytes):
    """Decode one JSON document; raise DecodeError on anything else."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8", "replace")
    if _scan_once is None:
        return _slow_loads(text)
    start = 0
    end = len(text)
    while start < end and text[start] in _WHITESPACE:
        start += 1
    try:
        value, stop = _scan_once(text, start)
    except Exception:
        # The C scanner reports errors through json.decoder; let the standard decoder
        # produce the precise message (or accept what the fast path could not).
        return _slow_loads(text)
    finally:
        _Context.memo.clear()
    while stop < end and text[stop] in _WHITESPACE:
        stop += 1
    if stop != end:
        raise DecodeError("extra data after the JSON value")
    return value
