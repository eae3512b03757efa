"""`ccprompt sessions`: one row per recent session, as an aligned table or as JSON.

`rows` turns summaries into plain values once; the table, the JSON, the live view and the
MCP tool all print those, so they never disagree.
"""

from __future__ import annotations

from ccprompt.core import session_rules as rules
from ccprompt.core.text import clip, display_width, fmt_s, sanitize

COLUMNS = (("project", "PROJECT"), ("session", "SESSION"), ("model", "MODEL"), ("age", "LAST"),
           ("state", "STATE"), ("context", "CTX"), ("turns", "TURNS"), ("tools", "TOOLS"), ("errors", "ERR"),
           ("cache", "CACHE"), ("cost", "COST"), ("route", "ROUTE"), ("limits", "RL"))
RIGHT = {"age", "context", "turns", "errors", "cost", "limits"}
STATE_COLORS = {"errored": "31", "stalled": "31", "waiting": "33", "working": "32", "idle": "90"}


def model_label(model) -> str:
    text = sanitize(model or "-", 40)
    text = text[len("claude-"):] if text.startswith("claude-") else text
    head, _, date = text.rpartition("-")
    return head if len(date) == 8 and date.isdigit() else text


def tools_label(tools: dict, width: int = 2) -> str:
    ranked = sorted(tools.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = " ".join(f"{sanitize(name, 24)} {count}" for name, count in ranked[:width])
    if len(ranked) > width:
        shown += f" +{len(ranked) - width}"
    return shown or "-"


def row(summary: rules.SessionSummary, proxy: rules.ProxyView | None, now_s: float) -> dict:
    """Every value of one session, plain and JSON-ready."""
    state, detail = rules.state_of(summary, now_s, proxy)
    size = proxy.window if proxy else None  # what Claude Code told the status line
    window = rules.context_window(summary.model, summary.context_tokens, size)
    ratio = rules.context_ratio(summary, size)
    left = rules.cache_left_s(summary, now_s)
    cost, source = rules.session_cost(summary, proxy)
    return {
        "session_id": sanitize(summary.session_id, 64),
        "project": sanitize(summary.project, 60),
        "model": sanitize(summary.model, 100) or None,
        "last_activity_epoch_s": summary.last_s,
        "age_s": round(now_s - summary.last_s, 1) if summary.last_s else None,
        "state": state,
        "state_detail": detail,
        "waiting_s": round(now_s - summary.waiting_since_s, 1) if summary.waiting_since_s else None,
        "context_tokens": summary.context_tokens,
        "context_window": window,
        "context_pct": round(ratio * 100, 1) if ratio is not None else None,
        "turns_to_compact": rules.turns_to_compact(summary, size),
        "turns": summary.turns,
        "tools": dict(summary.tools),
        "tool_calls": sum(summary.tools.values()),
        "api_errors": summary.api_errors,
        "last_error": summary.last_error,
        "cache_hit_ratio": summary.hit_ratio,
        "cache_ttl_s": summary.cache_ttl_s if summary.cache_at_s else None,
        "cache_left_s": round(left, 1) if left is not None else None,
        "tokens": {"input": summary.input_tokens, "output": summary.output_tokens,
                   "cache_read": summary.cache_read_tokens, "cache_write": summary.cache_write_tokens},
        "cost_usd": round(cost, 4),
        "cost_source": source,
        "cost_complete": source == "claude code" or not summary.unpriced,
        "partial": summary.partial,
        "model_requested": proxy.model_requested if proxy else None,
        "model_served": proxy.model_served if proxy else None,
        "route_mismatch": rules.route_mismatch(proxy),
        "ratelimit_headroom": proxy.headroom if proxy else None,
        "compactions": summary.compactions,
    }


def cells(values: dict) -> dict:
    """The table's text for one row, each cell through the one sanitiser whatever its source."""
    return {key: sanitize(text, 200) or "-" for key, text in _cells(values).items()}


def _cells(values: dict) -> dict:
    more = "+" if values["partial"] else ""
    counted = "" if values.get("cost_source") == "claude code" else more  # Claude Code's total is whole
    cache = "-"
    if values["cache_left_s"] is not None:
        hit = values["cache_hit_ratio"]
        hit_text = f"{hit * 100:.0f}% " if hit is not None else ""
        left = values["cache_left_s"]
        cache = hit_text + (fmt_s(left) if left > 0 else "expired")
    route = "-"
    if values["model_served"]:
        route = (f"{rules.family(values['model_requested'])}→{rules.family(values['model_served'])}"
                 if values["route_mismatch"] else "ok")
    state = values["state"] + (f" {values['state_detail']}" if values["state"] in ("waiting", "stalled")
                               else f" {values['state_detail']}" if values["state"] == "errored" else "")
    context = "-" if values["context_pct"] is None else f"{values['context_pct']:.0f}%"
    room = values["ratelimit_headroom"]
    return {
        "project": values["project"] or "-",
        "session": values["session_id"][:8] or "-",
        "model": model_label(values["model"]),
        "age": fmt_s(values["age_s"]) if values["age_s"] is not None else "-",
        "state": state,
        "context": context,
        "turns": f"{values['turns']}{more}",
        "tools": tools_label(values["tools"]),
        "errors": f"{values['api_errors']}{more}" if values["api_errors"] else "0",
        "cache": cache,
        "cost": f"${values['cost_usd']:.2f}{counted}" if values["cost_complete"] else f"${values['cost_usd']:.2f}?",
        "route": route,
        "limits": "-" if room is None else f"{room * 100:.0f}%",
    }


def table(all_values: list, width: int = 160, color: bool = False) -> str:
    """The aligned table, each line cut to `width` columns."""
    if not all_values:
        return "no sessions in this period (try --all)"
    rows_text = [cells(v) for v in all_values]
    keys = [key for key, _ in COLUMNS if key not in ("route", "limits")
            or any(r[key] != "-" for r in rows_text)]
    titles = dict(COLUMNS)
    widths = {k: max(display_width(titles[k]), *(display_width(r[k]) for r in rows_text)) for k in keys}
    lines = [_line({k: titles[k] for k in keys}, keys, widths)]
    for values, text in zip(all_values, rows_text):
        line = clip(_line(text, keys, widths), width)
        if color and values["state"] in STATE_COLORS:
            line = f"\x1b[{STATE_COLORS[values['state']]}m{line}\x1b[0m"
        lines.append(line)
    lines[0] = clip(lines[0], width)
    return "\n".join(lines)


def _line(text: dict, keys, widths) -> str:
    parts = []
    for key in keys:
        pad = " " * (widths[key] - display_width(text[key]))
        parts.append(pad + text[key] if key in RIGHT else text[key] + pad)
    return "  ".join(parts).rstrip()


def rows(pairs, now_s: float) -> list:
    """Rows for (summary, proxy) pairs, those needing attention first."""
    return [row(summary, proxy, now_s) for summary, proxy in rules.ordered(pairs, now_s)]
