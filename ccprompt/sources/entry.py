"""What one transcript line is: the one set of rules every reader of a transcript shares.

Claude Code appends one JSON object per line. Most lines are bookkeeping no rule reads
(attachments of 14-64 KB, request shapes, snapshots); a few are the turn itself: `user`
(a prompt or a tool result, written the moment it is sent), `assistant` (written when a
reply block completes, or the final API error), `system`, and, from 2.1.332 on, one
`api-request` line per attempt as it is sent.

`read_line` tells them apart from the bytes first, so a bookkeeping line is never
decoded, and a huge line (a 5 MB tool result) is never parsed whole: its kind, time and
the few fields the rules need are read from its first and last few KB (`Huge`).
"""

from ccprompt.core import fastjson
from ccprompt.core.text import iso_epoch

ERROR_PREFIX = "API Error"
# A line is parsed whole up to this size; past it only its head and tail are looked at.
PARSE_LIMIT = 512 * 1024
HEAD = 16 * 1024
TAIL = 16 * 1024
# User entries that never reach the API: local command echoes and interruptions.
_LOCAL_PREFIXES = ("<command-name>", "<local-command", "<command-message>", "[Request interrupted")
# The kinds the rules read. In Claude Code's JSON a quote inside a string is always
# escaped, so these byte patterns only ever match the JSON's own structure.
_MARKS = {
    "user": (b'"type":"user"', b'"type": "user"'),
    "assistant": (b'"type":"assistant"', b'"type": "assistant"'),
    "system": (b'"type":"system"', b'"type": "system"'),
    "api-request": (b'"type":"api-request"', b'"type": "api-request"'),
    "cost-state": (b'"type":"cost-state"', b'"type": "cost-state"'),  # 2.1.332: Claude Code's own cost
}
WANTED = ("user", "assistant", "system", "api-request", "cost-state")
# Bookkeeping kinds whose big lines may nest the wanted patterns (a prompt snapshot holds
# messages): past SMALL, a line with one of these is taken for what it says, unparsed.
_BOOKKEEPING = (b'"type":"attachment"', b'"type":"api-request-shape"', b'"type":"api-request-blob"',
                b'"type": "attachment"', b'"type": "api-request-shape"', b'"type": "api-request-blob"')
SMALL = 16 * 1024


class Huge:
    """A line too long to parse: its length, and its first and last few KB."""

    __slots__ = ("head", "tail", "length")

    def __init__(self, head: bytes, tail: bytes, length: int):
        self.head, self.tail, self.length = head, tail, length


def kinds_in(data: bytes) -> list:
    """The wanted entry kinds whose `"type"` pattern occurs in `data`."""
    return [kind for kind in WANTED if any(mark in data for mark in _MARKS[kind])]


def read_line(line):
    """The entry a line holds as a dict (only the kinds the rules read), or None.

    `line` is bytes, or a `Huge` for a line past PARSE_LIMIT. Raises ValueError for a
    line that claims a wanted kind but is not JSON.
    """
    if isinstance(line, Huge):
        return _huge_entry(line)
    if len(line) > PARSE_LIMIT:
        return _huge_entry(Huge(line[:HEAD], line[-TAIL:], len(line)))
    if len(line) < 12 or not kinds_in(line):
        return None
    if len(line) > SMALL and any(mark in line for mark in _BOOKKEEPING):
        return None
    try:
        entry = fastjson.loads(line)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(entry, dict) or entry.get("type") not in WANTED:
        return None
    return entry


# -- huge lines: kind and the rules' few fields from the ends ------------------------------


def _huge_entry(line: Huge):
    ends = line.head + b"\n" + line.tail
    kinds = [kind for kind in kinds_in(ends) if kind in ("user", "assistant")]
    if len(kinds) != 1 or any(mark in ends for mark in _BOOKKEEPING):
        return None  # an attachment, a request shape, or nothing the rules can tell apart
    entry = {"type": kinds[0], "huge": line.length}
    stamp = _last_string(ends, b'"timestamp":"')
    if stamp:
        entry["timestamp"] = stamp
    for flag in ("isSidechain", "isMeta", "isCompactSummary", "isApiErrorMessage"):
        if f'"{flag}":true'.encode() in ends:
            entry[flag] = True
    if kinds[0] == "user":
        # A tool's answer, or a (very long) typed prompt.
        tool = b'"type":"tool_result"' in ends or b'"tool_use_id":"' in ends
        entry["message"] = {"role": "user", "content": [{"type": "tool_result"}] if tool else "(long prompt)"}
        return entry
    message = {"role": "assistant", "content": []}
    for key in ("model", "id", "stop_reason"):
        value = _first_string(line.head, f'"{key}":"'.encode()) or _last_string(line.tail, f'"{key}":"'.encode())
        if value:
            message[key] = value
    if b'"type":"tool_use"' in line.head:
        name = _first_string(line.head[line.head.find(b'"type":"tool_use"'):], b'"name":"')
        message["content"] = [{"type": "tool_use", "name": name or "?"}]
    usage = _object_at(line.tail, b'"usage":{') or _object_at(line.head, b'"usage":{')
    if usage is not None:
        message["usage"] = usage
    entry["message"] = message
    return entry


def _first_string(data: bytes, key: bytes):
    at = data.find(key)
    return _string_after(data, at + len(key)) if at >= 0 else None


def _last_string(data: bytes, key: bytes):
    at = data.rfind(key)
    return _string_after(data, at + len(key)) if at >= 0 else None


def _string_after(data: bytes, start: int):
    end = data.find(b'"', start)
    if end < 0 or end - start > 200 or b"\\" in data[start:end]:
        return None
    return data[start:end].decode("utf-8", "replace")


def _object_at(data: bytes, key: bytes):
    at = data.rfind(key)
    if at < 0:
        return None
    start = at + len(key) - 1
    end = data.find(b"}", start)
    while end >= 0:
        try:
            value = fastjson.loads(data[start:end + 1])
            return value if isinstance(value, dict) else None
        except (ValueError, RecursionError):
            end = data.find(b"}", end + 1)
    return None


# -- the fields of an entry ----------------------------------------------------------------


def parse_timestamp(value):
    """Epoch seconds from an ISO-8601 timestamp such as 2026-11-20T09:02:31.521Z, or None.

    Claude Code's own form (UTC, `Z`) is converted with plain arithmetic (`core.text.iso_epoch`);
    only another shape loads `datetime`.
    """
    if not isinstance(value, str) or not value:
        return None
    fast = iso_epoch(value.strip())
    if fast is not None:
        return fast
    return _parse_with_datetime(value)


def _parse_with_datetime(value: str):
    from datetime import datetime, timezone

    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        # Python 3.10 accepts only 3 or 6 fractional digits; trim or pad to 6.
        head, dot, rest = text.partition(".")
        if not dot:
            return None
        digits = "".join(ch for ch in rest[:9] if ch.isdigit())
        tz = rest[len(digits):]
        try:
            moment = datetime.fromisoformat(f"{head}.{digits[:6].ljust(6, '0')}{tz}")
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def first_text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
                return block["text"]
    return content if isinstance(content, str) else ""


def parse_api_error(text: str) -> dict:
    """Code, type and message from `API Error: 529 {"type":"error","error":{...}}`."""
    result = {"code": None, "type": None, "message": None}
    rest = text[len(ERROR_PREFIX):].lstrip(":( ").strip()
    number = ""
    for ch in rest:
        if not ch.isdigit():
            break
        number += ch
    if number and len(number) == 3:
        result["code"] = int(number)
        rest = rest[len(number):].strip()
    brace = rest.find("{")
    if brace >= 0:
        try:
            body = fastjson.loads(rest[brace:])
        except (ValueError, RecursionError):
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            result["type"] = error.get("type") if isinstance(error.get("type"), str) else None
            message = error.get("message")
            result["message"] = message[:200] if isinstance(message, str) else None
            return result
    result["message"] = rest.rstrip(").")[:200] or None
    return result


def prompt_kind(entry: dict):
    """`prompt` for a typed prompt, `tool_result` for a tool's answer, None for what never reaches the API."""
    if entry.get("isMeta") is True or entry.get("isCompactSummary") is True:
        return None
    message = entry.get("message") if isinstance(entry.get("message"), dict) else {}
    content = message.get("content")
    if isinstance(content, str):
        text = content.lstrip()
        return "prompt" if text and not text.startswith(_LOCAL_PREFIXES) else None
    if isinstance(content, list):
        kind = None
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_result":
                return "tool_result"
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                if not block["text"].lstrip().startswith(_LOCAL_PREFIXES):
                    kind = "prompt"
        return kind
    return None


def is_api_error(entry: dict, message: dict) -> bool:
    """An assistant entry that is Claude Code's report of a failed request, not a reply."""
    if entry.get("isApiErrorMessage") is True:
        return True
    return message.get("model") == "<synthetic>" and first_text(message).startswith(ERROR_PREFIX + ":")


def error_detail(entry: dict, message: dict) -> dict:
    """Code, type and short message of an API error entry: the structured fields first, the text as a fallback."""
    text = first_text(message)
    detail = parse_api_error(text) if text.startswith(ERROR_PREFIX) else {"code": None, "type": None,
                                                                        "message": None}
    status = entry.get("apiErrorStatus")
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 999:
        detail["code"] = status
    if detail["type"] is None:
        for key in ("apiErrorType", "error"):
            if isinstance(entry.get(key), str):
                detail["type"] = entry[key][:80]
                break
    return detail
