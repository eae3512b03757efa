"""The transcript scanner: finds recent API errors and the latest usage in a session's tail.

It reads only the last few KB of the JSONL file, so its cost does not grow with the file.
Nothing it reads is stored except the error's code, type, short message and time.
"""

from __future__ import annotations

import os

from ccprompt import fastjson

MAX_LINE = 1 << 20
ERROR_PREFIX = "API Error"


def read_tail(path: str, tail_kb: int) -> list:
    """The complete lines in the last `tail_kb` KB of the file (the first, partial one dropped)."""
    size_limit = tail_kb * 1024
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        start = max(0, size - size_limit)
        handle.seek(start)
        data = handle.read(size_limit)
    lines = data.split(b"\n")
    if start > 0:
        lines = lines[1:]
    return [line for line in lines if line.strip()]


def parse_timestamp(value):
    """Epoch seconds from an ISO-8601 timestamp such as 2026-11-20T09:02:31.521Z, or None."""
    if not isinstance(value, str) or not value:
        return None
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


def scan(path, tail_kb: int = 64, now_s: float | None = None, recent_s: int = 600) -> dict:
    """Summarise the transcript tail. Never raises: a missing file gives an empty summary."""
    summary = {
        "read": False,
        "lines": 0,
        "skipped": 0,
        "error": None,
        "unresolved": False,
        "recent": False,
        "usage_tokens": None,
        "model": None,
    }
    if not isinstance(path, str) or not path:
        return summary
    try:
        lines = read_tail(path, tail_kb)
    except (OSError, ValueError):
        return summary
    summary["read"] = True
    last_error = None
    last_error_index = -1
    last_success_index = -1
    for index, raw in enumerate(lines):
        if len(raw) > MAX_LINE:
            summary["skipped"] += 1
            continue
        try:
            entry = fastjson.loads(raw)
        except ValueError:
            summary["skipped"] += 1
            continue
        summary["lines"] += 1
        if not isinstance(entry, dict) or entry.get("type") != "assistant":
            continue
        message = entry.get("message") if isinstance(entry.get("message"), dict) else {}
        text = _text_of(message)
        is_error = entry.get("isApiErrorMessage") is True or text.startswith(ERROR_PREFIX + ":")
        if is_error:
            last_error = (entry, text)
            last_error_index = index
            continue
        model = message.get("model")
        if model == "<synthetic>":
            continue
        last_success_index = index
        if isinstance(model, str):
            summary["model"] = model
        tokens = _usage_tokens(message.get("usage"))
        if tokens:
            summary["usage_tokens"] = tokens
    if last_error is not None:
        entry, text = last_error
        detail = parse_api_error(text) if text.startswith(ERROR_PREFIX) else {"code": None, "type": None, "message": None}
        epoch = parse_timestamp(entry.get("timestamp"))
        event = {
            "timestamp": None,
            "epoch_s": epoch,
            "code": detail["code"],
            "type": detail["type"],
            "message": detail["message"],
        }
        if epoch is not None:
            from datetime import datetime

            event["timestamp"] = datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="milliseconds")
        summary["error"] = event
        summary["unresolved"] = last_success_index < last_error_index
        if now_s is not None and epoch is not None:
            summary["recent"] = 0 <= now_s - epoch < recent_s or (epoch > now_s and epoch - now_s < 60)
    return summary
