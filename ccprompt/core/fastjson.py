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


def dumps(value) -> str:
    """Compact JSON for plain data (dict, list, str, int, float, bool, None) without the `json` package.

    For ccprompt's own small files on the hot path; anything else raises TypeError.
    A float that is not finite is written as null.
    """
    parts: list = []
    _dump(value, parts)
    return "".join(parts)


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _string(text: str) -> str:
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch < " " or "\ud800" <= ch <= "\udfff" or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _dump(value, parts: list) -> None:
    if value is None or value is True or value is False:
        parts.append("null" if value is None else "true" if value else "false")
    elif isinstance(value, str):
        parts.append(_string(value))
    elif isinstance(value, int):
        parts.append(str(int(value)))
    elif isinstance(value, float):
        parts.append(repr(value) if value == value and value not in (float("inf"), float("-inf")) else "null")
    elif isinstance(value, dict):
        parts.append("{")
        for i, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError("keys must be strings")
            parts.append(("," if i else "") + _string(key) + ":")
            _dump(item, parts)
        parts.append("}")
    elif isinstance(value, (list, tuple)):
        parts.append("[")
        for i, item in enumerate(value):
            if i:
                parts.append(",")
            _dump(item, parts)
        parts.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__}")
