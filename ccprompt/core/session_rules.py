"""The rules that turn one session's derived numbers into what people see: state, context, cache, order.

Every function here is pure: it takes a `SessionSummary` (numbers read from a transcript,
never its content), an optional proxy view of the same session, and `now`, and returns
text or numbers. Reading files is `sources.sessions`' job.
"""

from ccprompt.core.model import Record
from ccprompt.core.text import fmt_s

WINDOW = 200_000
WINDOW_1M = 1_000_000
# Claude Code compacts automatically a little before the window is full; an estimate.
COMPACT_AT = 0.9
CACHE_TTL_5M = 300
CACHE_TTL_1H = 3600
# Without the proxy's stall notices, a turn silent this long is called stalled: Claude Code's
# own stream watchdog waits at least this long before it gives up.
STALL_AFTER_S = 300
WORKING_WINDOW_S = 600
WAITING_NOTABLE_S = 30
CONTEXT_WARN = 0.8
CACHE_WARN_S = 60
STATES = ("errored", "stalled", "waiting", "working", "idle")


class SessionSummary(Record):
    """What one transcript says, as numbers and short labels only."""

    _fields = (
        ("session_id", ""),
        ("project", ""),
        ("path", ""),
        ("model", None),
        ("first_s", None),
        ("last_s", None),
        ("last_kind", None),  # prompt, tool_result, tool_use, reply, error
        ("waiting_since_s", None),  # a prompt or tool result with no assistant entry after it
        ("attempts", 0),  # `api-request` lines since that prompt: Claude Code's attempts at it
        ("attempt_s", None),  # when the newest of them was sent
        ("attempt_source", None),  # their `querySource`: another request in the meantime is not a retry
        ("reply_s", None),  # the newest successful reply
        ("turns", 0),
        ("tools", dict),  # tool name -> calls
        ("api_errors", 0),
        ("last_error", None),  # {"code", "type", "epoch_s", "message"}
        ("error_unresolved", False),
        ("input_tokens", 0),
        ("output_tokens", 0),
        ("cache_read_tokens", 0),
        ("cache_write_tokens", 0),
        ("cost_usd", 0.0),  # estimated from the price table
        ("reported_cost_usd", None),  # Claude Code's own total (`cost-state` lines, 2.1.332)
        ("unpriced", False),
        ("context_tokens", None),
        ("context_peak", 0),
        ("context_history", list),  # context size after each of the last few replies
        ("hit_ratio", None),  # cache read / prompt tokens, last reply
        ("cache_at_s", None),  # last cache write or read
        ("cache_ttl_s", CACHE_TTL_5M),
        ("compactions", 0),
        ("partial", False),  # only the tail was read: counts cover the tail
        ("pending", None),  # the reply being counted: {"id", "model", "usage"}; counted once per id
    )
    __slots__ = tuple(name for name, _ in _fields)

    @classmethod
    def from_dict(cls, raw: dict) -> "SessionSummary":
        names = {name for name, _ in cls._fields}
        return cls(**{k: v for k, v in raw.items() if k in names})


class ProxyView(Record):
    """What the proxy saw of one session: route, retries, stalls, rate limits."""

    _fields = (
        ("model_requested", None),
        ("model_served", None),
        ("attempt", None),
        ("status", None),
        ("error_type", None),
        ("failing", False),  # the newest attempt failed
        ("stall_since_s", None),
        ("ts", None),
        ("headroom", None),  # lowest remaining/limit across rate-limit kinds, 0..1
        ("window", None),  # context window size the status line was given (`core.seen`)
        ("cost_usd", None),  # Claude Code's own cost figure the status line was given
        ("ttfb_ms", None),
    )
    __slots__ = tuple(name for name, _ in _fields)


# Models whose every window is 1M tokens, though their id carries no `[1m]` suffix (the status
# line's `context_window.context_window_size` says 1000000 for them).
MODELS_1M = ("claude-opus-5-5", "claude-sonnet-5-5")


def context_window(model, tokens=None, size=None) -> int:
    """The window: a size the caller knows (the status line's), 1M for `[1m]` and the 1M models,
    or 1M for a context already past 200K."""
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return size
    if isinstance(model, str) and (model.lower().endswith("[1m]") or model.lower().startswith(MODELS_1M)):
        return WINDOW_1M
    if isinstance(tokens, int) and tokens > WINDOW:
        return WINDOW_1M
    return WINDOW


def session_cost(summary: SessionSummary, proxy=None) -> tuple:
    """(dollars, source): Claude Code's own figure where there is one (the newest, which is the
    largest: it only grows), else the estimate from the price table."""
    reported = [v for v in (summary.reported_cost_usd, proxy.cost_usd if proxy is not None else None)
                if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if reported:
        return max(reported), "claude code"
    return summary.cost_usd, "estimate"


def context_ratio(summary: SessionSummary, size=None):
    if not summary.context_tokens:
        return None
    return summary.context_tokens / context_window(summary.model, summary.context_tokens, size)


def growth_per_turn(history) -> float | None:
    """Average growth of the context between replies, from the recent ones that grew it."""
    deltas = [b - a for a, b in zip(history, history[1:]) if b > a]
    return sum(deltas) / len(deltas) if deltas else None


def turns_to_compact(summary: SessionSummary, size=None) -> int | None:
    """Replies left before the context reaches the compaction point, at the recent growth rate."""
    if not summary.context_tokens:
        return None
    limit = context_window(summary.model, summary.context_tokens, size) * COMPACT_AT
    growth = growth_per_turn(summary.context_history or [])
    if growth is None:
        return None
    left = limit - summary.context_tokens
    return 0 if left <= 0 else max(1, int(left // growth))


def cache_left_s(summary: SessionSummary, now_s: float):
    """Seconds before the prompt cache expires (negative once it has), or None with no cache use seen."""
    if summary.cache_at_s is None:
        return None
    return summary.cache_at_s + (summary.cache_ttl_s or CACHE_TTL_5M) - now_s


def state_of(summary: SessionSummary, now_s: float, proxy: ProxyView | None = None) -> tuple[str, str]:
    """(state, detail): errored, stalled, waiting (on the API), working (running a tool) or idle."""
    waiting = summary.waiting_since_s
    if waiting:
        waited = max(0.0, now_s - waiting)
        if proxy is not None and proxy.stall_since_s and proxy.stall_since_s >= waiting - 1:
            return "stalled", f"no bytes for {fmt_s(now_s - proxy.stall_since_s)}"
        retry = ""
        if proxy is not None and proxy.failing and proxy.ts and proxy.ts >= waiting - 1:
            retry = f" · {proxy.status or 'no answer'} retry {max(1, (proxy.attempt or 1) - 1)}"
        if waited >= STALL_AFTER_S and not retry:
            return "stalled", f"no reply for {fmt_s(waited)}"
        return "waiting", fmt_s(waited) + retry
    if summary.error_unresolved and summary.last_kind == "error":
        error = summary.last_error or {}
        return "errored", " ".join(str(x) for x in (error.get("code"), error.get("type")) if x) or "API error"
    if summary.last_kind == "tool_use" and summary.last_s and now_s - summary.last_s < WORKING_WINDOW_S:
        return "working", "running a tool"
    return "idle", ""


def attention(summary: SessionSummary, now_s: float, proxy: ProxyView | None = None) -> int:
    """Lower needs attention sooner: errors and stalls, long waits, a full context, an expiring cache."""
    state, _ = state_of(summary, now_s, proxy)
    if state in ("errored", "stalled"):
        return 0 if state == "errored" else 1
    if state == "waiting" and now_s - (summary.waiting_since_s or now_s) >= WAITING_NOTABLE_S:
        return 2
    if (context_ratio(summary) or 0) >= CONTEXT_WARN:
        return 3
    if proxy is not None and proxy.model_served and route_mismatch(proxy):
        return 3
    left = cache_left_s(summary, now_s)
    if state == "idle" and left is not None and 0 < left < CACHE_WARN_S:
        return 4
    return {"waiting": 5, "working": 6}.get(state, 7)


def ordered(rows, now_s: float) -> list:
    """(summary, proxy) pairs, those needing attention first, then the most recent."""
    return sorted(rows, key=lambda row: (attention(row[0], now_s, row[1]), -(row[0].last_s or 0)))


def family(model) -> str:
    """`opus`, `sonnet`, `haiku`, or the id itself."""
    text = str(model or "").lower()
    for name in ("opus", "sonnet", "haiku"):
        if name in text:
            return name
    return text or "-"


def route_mismatch(proxy: ProxyView | None) -> bool:
    """The proxy saw a reply from another model than the one requested (dated ids match their alias)."""
    if proxy is None or not proxy.model_requested or not proxy.model_served:
        return False
    asked = proxy.model_requested.lower().split("[", 1)[0]
    got = proxy.model_served.lower()
    return not (got.startswith(asked) or asked.startswith(got))


def short_tokens(n) -> str:
    """`62K`, `1.2M`, `850`."""
    if not isinstance(n, (int, float)):
        return "-"
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 1000:
        return f"{n / 1000:.0f}K"
    return str(int(n))


# -- the segments for the status line and the prompt ---------------------------------------


def cache_segment(summary: SessionSummary, now_s: float) -> tuple[str, str]:
    """(`cache 3m12s`, level): level `ok`, `warn` under a minute, `bad` once expired; ("", "") without cache use."""
    left = cache_left_s(summary, now_s)
    if left is None:
        return "", ""
    if left <= 0:
        return "cache expired", "bad"
    return f"cache {fmt_s(left)}", "warn" if left < CACHE_WARN_S else "ok"


def context_segment(summary: SessionSummary, size=None) -> tuple[str, str]:
    """(`ctx 87% · ~2 turns`, level): the turns-to-compact estimate once it is near."""
    ratio = context_ratio(summary, size)
    if ratio is None:
        return "", ""
    text = f"ctx {ratio * 100:.0f}%"
    turns = turns_to_compact(summary, size)
    if turns is not None and ratio >= 0.5 and turns <= 20:
        text += f" · ~{turns} turn{'' if turns == 1 else 's'} to compact" if turns else " · compacting"
    level = "bad" if ratio >= COMPACT_AT else "warn" if ratio >= CONTEXT_WARN else "ok"
    return text, level


def session_segment(summary: SessionSummary, now_s: float, proxy: ProxyView | None = None) -> tuple[str, str]:
    """(`waiting 45s`, level) or (`stalled 5m02s`, `bad`); ("", "") when nothing is pending."""
    state, detail = state_of(summary, now_s, proxy)
    if state == "waiting":
        waited = now_s - (summary.waiting_since_s or now_s)
        return f"waiting {detail}", "warn" if waited >= WAITING_NOTABLE_S else "ok"
    if state == "stalled":
        return f"stalled {fmt_s(now_s - (proxy.stall_since_s if proxy and proxy.stall_since_s else summary.waiting_since_s or now_s))}", "bad"
    if state == "errored":
        return f"API {detail}", "bad"
    return "", ""


SEGMENT_COLORS = {"ok": "32", "warn": "33", "bad": "31"}


def segments(summary: SessionSummary, now_s: float, proxy: ProxyView | None = None, size=None) -> dict:
    """{"cache": (text, level), "context": …, "session": …} for one session."""
    return {"cache": cache_segment(summary, now_s), "context": context_segment(summary, size),
            "session": session_segment(summary, now_s, proxy)}
