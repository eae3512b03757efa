"""One transcript's lines folded into a `SessionSummary`: numbers and labels, never content.

`fold` takes the summary so far and the complete lines after it, so a growing transcript
is read from where the last reading stopped. Claude Code writes one assistant entry per
content block, each repeating the reply's usage; a reply is counted once, by its id.
"""

from ccprompt.core import prices
from ccprompt.core.session_rules import CACHE_TTL_1H, CACHE_TTL_5M, SessionSummary
from ccprompt.sources.entry import error_detail, is_api_error, parse_timestamp, prompt_kind, read_line

HISTORY = 8


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_of(message: dict) -> dict | None:
    """input, output, cache_read, cache_5m, cache_1h from a reply's usage."""
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return None
    write = _int(usage.get("cache_creation_input_tokens"))
    split = usage.get("cache_creation") if isinstance(usage.get("cache_creation"), dict) else {}
    one_hour = min(write, _int(split.get("ephemeral_1h_input_tokens")))
    return {"input": _int(usage.get("input_tokens")), "output": _int(usage.get("output_tokens")),
            "cache_read": _int(usage.get("cache_read_input_tokens")), "cache_5m": write - one_hour,
            "cache_1h": one_hour}


def commit_pending(summary: SessionSummary) -> None:
    """Add the reply being counted to the totals (once a reply with another id begins)."""
    pending = summary.pending
    if not pending:
        return
    summary.pending = None
    usage = pending.get("usage") or {}
    summary.input_tokens += usage.get("input", 0)
    summary.output_tokens += usage.get("output", 0)
    summary.cache_read_tokens += usage.get("cache_read", 0)
    summary.cache_write_tokens += usage.get("cache_5m", 0) + usage.get("cache_1h", 0)
    cost = prices.cost_usd(pending.get("model"), usage.get("input", 0), usage.get("output", 0),
                           usage.get("cache_read", 0), usage.get("cache_5m", 0), usage.get("cache_1h", 0))
    if cost is None:
        summary.unpriced = True
    else:
        summary.cost_usd = round(summary.cost_usd + cost, 6)


def totals(summary: SessionSummary) -> SessionSummary:
    """A copy with the reply in progress counted too, for showing."""
    shown = SessionSummary.from_dict(summary.to_dict())
    commit_pending(shown)
    return shown


def _reply(summary: SessionSummary, entry: dict, message: dict, when) -> None:
    model = message.get("model")
    if isinstance(model, str):
        summary.model = model[:100]
    msg_id = message.get("id") if isinstance(message.get("id"), str) else None
    usage = usage_of(message)
    content = message.get("content") if isinstance(message.get("content"), list) else []
    is_tool_use = False
    for block in content:
        if isinstance(block, dict) and block.get("type") == "tool_use":
            is_tool_use = True
            name = str(block.get("name") or "?")[:64]
            summary.tools[name] = summary.tools.get(name, 0) + 1
    summary.last_kind = "tool_use" if is_tool_use or message.get("stop_reason") == "tool_use" else "reply"
    if usage is None:
        return
    pending = summary.pending
    if not (pending and msg_id and pending.get("id") == msg_id):
        commit_pending(summary)
    summary.pending = {"id": (msg_id or "")[:80], "model": summary.model, "usage": usage}
    if entry.get("isSidechain") is True:
        return
    context = usage["input"] + usage["cache_read"] + usage["cache_5m"] + usage["cache_1h"]
    if context <= 0:
        return
    same = pending and msg_id and pending.get("id") == msg_id
    if not same:
        summary.context_history = (list(summary.context_history) + [context])[-HISTORY:]
    elif summary.context_history:
        summary.context_history[-1] = context
    summary.context_tokens = context
    summary.context_peak = max(summary.context_peak or 0, context)
    summary.hit_ratio = round(usage["cache_read"] / context, 4)
    if usage["cache_read"] or usage["cache_5m"] or usage["cache_1h"]:
        summary.cache_at_s = when
        if usage["cache_1h"]:
            summary.cache_ttl_s = CACHE_TTL_1H
        elif usage["cache_5m"]:
            summary.cache_ttl_s = CACHE_TTL_5M


def fold_entry(summary: SessionSummary, entry: dict) -> None:
    """One transcript entry (as `entry.read_line` gives it) into the summary."""
    kind = entry.get("type")
    when = parse_timestamp(entry.get("timestamp"))
    if when is not None:
        summary.first_s = when if summary.first_s is None else min(summary.first_s, when)
        summary.last_s = when if summary.last_s is None else max(summary.last_s, when)
    if not summary.session_id and isinstance(entry.get("sessionId"), str):
        summary.session_id = entry["sessionId"][:64]
    if not summary.project and isinstance(entry.get("cwd"), str) and entry["cwd"].strip("/"):
        summary.project = entry["cwd"].rstrip("/").rsplit("/", 1)[-1][:60]
    if kind == "api-request":
        # Claude Code 2.1.332 and later: one line per attempt, written as it is sent. A retry
        # repeats the request's `querySource`; another request meanwhile (a compaction, say) is
        # not an attempt at this turn.
        source = entry.get("querySource") if isinstance(entry.get("querySource"), str) else None
        if summary.waiting_since_s is not None and (summary.attempt_source is None or source is None
                                                    or source[:60] == summary.attempt_source):
            summary.attempts += 1
            summary.attempt_s = when
            summary.attempt_source = summary.attempt_source or (source[:60] if source else None)
        return
    if kind == "cost-state":  # 2.1.332: Claude Code's own running total for the session
        from ccprompt.core.seen import reported_cost_of

        summary.reported_cost_usd = reported_cost_of(entry, summary.reported_cost_usd)
        return
    if kind == "system":
        if entry.get("subtype") == "compact_boundary":
            summary.compactions += 1
        return
    if kind == "user":
        if entry.get("isCompactSummary") is True:
            summary.context_history = []
        sends = prompt_kind(entry)
        if sends is None:
            return
        if sends == "prompt" and entry.get("isSidechain") is not True:
            summary.turns += 1
        summary.last_kind = sends
        if summary.waiting_since_s is None:
            summary.waiting_since_s = when or -1.0
            summary.attempts = 0
            summary.attempt_s = summary.attempt_source = None
        return
    if kind != "assistant":
        return
    summary.waiting_since_s = None
    summary.attempts = 0
    summary.attempt_s = summary.attempt_source = None
    message = entry.get("message") if isinstance(entry.get("message"), dict) else {}
    if is_api_error(entry, message):
        summary.api_errors += 1
        detail = error_detail(entry, message)
        stamp = entry.get("timestamp")
        summary.last_error = {"code": detail["code"], "type": (detail["type"] or "")[:40] or None, "epoch_s": when,
                              "message": detail["message"], "timestamp": stamp[:40] if isinstance(stamp, str) else None}
        summary.error_unresolved = True
        summary.last_kind = "error"
        return
    if message.get("model") == "<synthetic>":
        return
    summary.error_unresolved = False
    if entry.get("isSidechain") is not True and when is not None:
        summary.reply_s = when if summary.reply_s is None else max(summary.reply_s, when)
    _reply(summary, entry, message, when)


def is_error_reply(message: dict) -> bool:
    return is_api_error({}, message)


def fold(summary: SessionSummary, data: bytes) -> SessionSummary:
    """Fold every complete line of `data` (which starts at a line boundary) into the summary."""
    for raw in data.split(b"\n"):
        try:
            entry = read_line(raw)
        except ValueError:
            continue
        if entry is not None:
            fold_entry(summary, entry)
    return summary

