"""The transcript scanner: the last API error, a turn still waiting on the API, the latest usage.

It reads only the last few KB of the JSONL file, so its cost does not grow with the file,
and only regular files (a FIFO or a device never hangs it). Nothing it reads is stored
except the error's code, type, short message and time.

Claude Code writes a prompt or a tool result the moment it is sent, and an assistant
entry only when a reply block completes; while it retries, it writes nothing. So a
`user` entry with no assistant entry after it is a turn waiting on the API.
"""

from ccprompt.core import fastjson, files
from ccprompt.core.model import TranscriptScan

MAX_LINE = 1 << 20
ERROR_PREFIX = "API Error"
# User entries that never reach the API: local command echoes and interruptions.
_LOCAL_PREFIXES = ("<command-name>", "<local-command", "<command-message>", "[Request interrupted")


def read_tail(path: str, tail_kb: int) -> list:
    """The complete lines in the last `tail_kb` KB of the file (the first, partial one dropped)."""
    data, cut = files.read_tail(path, tail_kb * 1024)
    lines = data.split(b"\n")
    if cut:
        lines = lines[1:]
    return [line for line in lines if line.strip()]


def parse_timestamp(value):
    """Epoch seconds from an ISO-8601 timestamp such as 2026-11-20T09:02:31.521Z, or None.

    Claude Code's own form (UTC, `Z`) is converted with plain arithmetic: importing
    `datetime` would cost the status line more than the rest of its scan.
    """
    if not isinstance(value, str) or not value:
        return None
    fast = _utc_z(value.strip())
    if fast is not None:
        return fast
    return _parse_with_datetime(value)


def _utc_z(text: str):
    """`YYYY-MM-DDTHH:MM:SS[.fraction]Z` to epoch seconds, or None for any other shape."""
    if len(text) < 20 or text[-1] not in "Zz" or text[4] != "-" or text[7] != "-" or text[10] not in "Tt ":
        return None
    try:
        year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
        hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
        if text[13] != ":" or text[16] != ":":
            return None
        fraction = 0.0
        if len(text) > 20:
            if text[19] != "." or not text[20:-1].isdigit():
                return None
            fraction = int(text[20:-1]) / 10 ** len(text[20:-1])
    except ValueError:
        return None
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    # Days since 1970-01-01 in the proleptic Gregorian calendar (the civil-from-days inverse).
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return days * 86400 + hour * 3600 + minute * 60 + second + fraction


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


def _text_of(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
                return block["text"]
    return ""


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
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            result["type"] = error.get("type") if isinstance(error.get("type"), str) else None
            message = error.get("message")
            result["message"] = message[:200] if isinstance(message, str) else None
            return result
    result["message"] = rest.rstrip(").")[:200] or None
    return result


def _usage_tokens(usage) -> int | None:
    if not isinstance(usage, dict):
        return None
    total = 0
    for key in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
        value = usage.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            total += value
    return total


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
    message = entry.get("message") if isinstance(entry.get("message"), dict) else {}
    content = message.get("content")
    if isinstance(content, str):
        return bool(content.strip()) and not content.lstrip().startswith(_LOCAL_PREFIXES)
    if isinstance(content, list):
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_result":
                return True
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                if not block["text"].lstrip().startswith(_LOCAL_PREFIXES):
                    return True
    return False


def _error_detail(entry: dict, text: str) -> dict:
    """Code, type and message: the structured fields first, the text as a fallback."""
    detail = parse_api_error(text) if text.startswith(ERROR_PREFIX) else {"code": None, "type": None,
                                                                        "message": None}
    status = entry.get("apiErrorStatus")
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 999:
        detail["code"] = status
    if detail["type"] is None and isinstance(entry.get("error"), str):
        detail["type"] = entry["error"][:80]
    return detail


def scan(path, tail_kb: int = 64, now_s: float | None = None, recent_s: int = 600) -> TranscriptScan:
    """Summarise the transcript tail. Never raises: an unreadable file gives an empty summary."""
    summary = TranscriptScan()
    if not isinstance(path, str) or not path:
        return summary
    try:
        lines = read_tail(path, tail_kb)
    except (OSError, ValueError):
        return summary
    summary.read = True
    last_error = None
    last_error_index = -1
    last_success_index = -1
    waiting_since = None
    for index, raw in enumerate(lines):
        if len(raw) > MAX_LINE:
            summary.skipped += 1
            continue
        try:
            entry = fastjson.loads(raw)
        except (ValueError, RecursionError):
            summary.skipped += 1
            continue
        summary.lines += 1
        if not isinstance(entry, dict):
            continue
        kind = entry.get("type")
        if kind == "user":
            if waiting_since is None and prompt_kind(entry) is not None:
                waiting_since = parse_timestamp(entry.get("timestamp")) or -1.0
            continue
        if kind != "assistant":
            continue
        waiting_since = None
        message = entry.get("message") if isinstance(entry.get("message"), dict) else {}
        text = _text_of(message)
        if entry.get("isApiErrorMessage") is True or text.startswith(ERROR_PREFIX + ":"):
            last_error = (entry, text)
            last_error_index = index
            continue
        model = message.get("model")
        if model == "<synthetic>":
            continue
        last_success_index = index
        summary.last_reply_epoch_s = parse_timestamp(entry.get("timestamp"))
        if isinstance(model, str):
            summary.model = model[:100]
        tokens = _usage_tokens(message.get("usage"))
        if tokens:
            summary.usage_tokens = tokens
    if waiting_since is not None and waiting_since > 0:
        summary.waiting_since_epoch_s = waiting_since
    if last_error is not None:
        entry, text = last_error
        detail = _error_detail(entry, text)
        epoch = parse_timestamp(entry.get("timestamp"))
        event = {"timestamp": None, "epoch_s": epoch, **detail}
        if epoch is not None:
            from datetime import datetime

            event["timestamp"] = datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="milliseconds")
        summary.error = event
        summary.unresolved = last_success_index < last_error_index
        if now_s is not None and epoch is not None:
            summary.recent = 0 <= now_s - epoch < recent_s or (epoch > now_s and epoch - now_s < 60)
    return summary
