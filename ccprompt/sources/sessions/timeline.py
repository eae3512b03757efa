"""One session's transcript as a list of redacted events, for the postmortem.

Each event holds a time, a kind and numbers; a tool call holds the tool's name and a
short hash of its target (the file, command, pattern or URL), never the input itself.
File targets also keep their base name, never a directory.
"""

from __future__ import annotations

import hashlib
import os

from ccprompt.sources import entry as entries
from ccprompt.sources.sessions import index, scan
from ccprompt.sources.entry import parse_timestamp

READ_LIMIT = 256 << 20
_TARGET_KEYS = ("file_path", "notebook_path", "path", "command", "pattern", "url", "query", "description")
_FILE_KEYS = ("file_path", "notebook_path", "path")


def target_of(tool_input) -> str | None:
    """`auth.py#3f2a9c1b` for a file, `#9b1e02aa` for a command or pattern; None without a target."""
    if not isinstance(tool_input, dict):
        return None
    for key in _TARGET_KEYS:
        value = tool_input.get(key)
        if isinstance(value, str) and value.strip():
            digest = hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:8]
            if key in _FILE_KEYS:
                name = os.path.basename(value.rstrip("/"))[:40]
                return f"{name}#{digest}" if name else f"#{digest}"
            return f"#{digest}"
    return None


def _usage_event(entry: dict, message: dict, when) -> dict:
    usage = scan.usage_of(message) or {}
    context = usage.get("input", 0) + usage.get("cache_read", 0) + usage.get("cache_5m", 0) + usage.get("cache_1h", 0)
    return {"t": when, "kind": "reply", "id": str(message.get("id") or "")[:80],
            "model": str(message.get("model") or "")[:100], "context": context,
            "cache_read": usage.get("cache_read", 0), "cache_write": usage.get("cache_5m", 0) + usage.get("cache_1h", 0),
            "cache_1h": usage.get("cache_1h", 0), "input": usage.get("input", 0), "output": usage.get("output", 0),
            "stop": str(message.get("stop_reason") or "")[:20], "sidechain": entry.get("isSidechain") is True}


def events_of(entry: dict) -> list:
    """The redacted events one transcript entry gives."""
    kind = entry.get("type")
    when = parse_timestamp(entry.get("timestamp"))
    if kind == "api-request":  # Claude Code sent an attempt (2.1.332 on)
        return [{"t": when, "kind": "attempt"}]
    if kind == "system" and entry.get("subtype") == "compact_boundary":
        return [{"t": when, "kind": "compaction"}]
    if kind == "user":
        if entry.get("isCompactSummary") is True:
            return [{"t": when, "kind": "compaction"}]
        sends = entries.prompt_kind(entry)
        return [{"t": when, "kind": sends, "sidechain": entry.get("isSidechain") is True}] if sends else []
    if kind != "assistant":
        return []
    message = entry.get("message") if isinstance(entry.get("message"), dict) else {}
    if entries.is_api_error(entry, message):
        detail = entries.error_detail(entry, message)
        return [{"t": when, "kind": "api_error", "code": detail["code"], "type": (detail["type"] or "")[:40] or None}]
    if message.get("model") == "<synthetic>":
        return []
    out = [_usage_event(entry, message, when)]
    for block in message.get("content") if isinstance(message.get("content"), list) else []:
        if isinstance(block, dict) and block.get("type") == "tool_use":
            out.append({"t": when, "kind": "tool", "name": str(block.get("name") or "?")[:64],
                        "target": target_of(block.get("input"))})
    return out


def read(path: str) -> tuple[list, dict]:
    """(events oldest first, facts about the read) for one transcript; the newest READ_LIMIT bytes at most."""
    size = os.stat(path).st_size
    start = max(0, size - READ_LIMIT)
    data = index.read_range(path, start, size - start)
    if start:
        cut = data.find(b"\n")
        data = data[cut + 1:] if cut >= 0 else b""
    events = []
    session_id = None
    version = None
    reported_cost = None
    for raw in data.split(b"\n"):
        if len(raw) < 20:
            continue
        try:
            entry = entries.read_line(raw)
        except ValueError:
            continue
        if entry is None:
            continue
        if session_id is None and isinstance(entry.get("sessionId"), str):
            session_id = entry["sessionId"][:64]
        if isinstance(entry.get("version"), str):
            version = entry["version"][:20]
        if entry.get("type") == "cost-state":  # 2.1.332: Claude Code's own running total
            from ccprompt.core.seen import reported_cost_of

            reported_cost = reported_cost_of(entry, reported_cost)
            continue
        events.extend(events_of(entry))
    return events, {"session_id": session_id, "version": version, "bytes": size, "partial": start > 0,
                    "reported_cost_usd": reported_cost}

