"""Notable changes between two readings of the sessions, as short event lines for the live view.

`CACHE expired · rebuild ~62K tokens`, `CONTEXT 87% · ~2 turns to compact`,
`MODEL requested opus, got sonnet`, `API 529 · retry 4`, `STALL 45s`. Pure: two
readings (session id -> (summary, proxy view)) and their times in, lines out.
"""

from __future__ import annotations

from ccprompt.core import session_rules as rules
from ccprompt.core.text import fmt_s

CONTEXT_MARKS = (0.8, 0.9)


def _who(summary) -> str:
    return f"{summary.project or '-'} {summary.session_id[:8]}"


def changes(before: dict, after: dict, then_s: float, now_s: float) -> list:
    """Event lines for every session present in both readings, in a stable order."""
    lines = []
    for sid in sorted(after):
        if sid not in before:
            continue
        old, old_proxy = before[sid]
        new, proxy = after[sid]
        who = _who(new)
        old_left, left = rules.cache_left_s(old, then_s), rules.cache_left_s(new, now_s)
        if old_left is not None and left is not None and old_left > 0 >= left and new.cache_at_s == old.cache_at_s:
            lines.append(f"{who}  CACHE expired · rebuild ~{rules.short_tokens(new.context_tokens)} tokens")
        old_ratio, ratio = rules.context_ratio(old) or 0, rules.context_ratio(new) or 0
        for mark in CONTEXT_MARKS:
            if old_ratio < mark <= ratio:
                turns = rules.turns_to_compact(new)
                tail = f" · ~{turns} turn{'' if turns == 1 else 's'} to compact" if turns else ""
                lines.append(f"{who}  CONTEXT {ratio * 100:.0f}%{tail}")
                break
        if rules.route_mismatch(proxy) and (not rules.route_mismatch(old_proxy)
                                            or old_proxy.model_served != proxy.model_served):
            lines.append(f"{who}  MODEL requested {rules.family(proxy.model_requested)}, "
                         f"got {rules.family(proxy.model_served)}")
        if proxy is not None and proxy.failing and proxy.ts and (old_proxy is None or old_proxy.ts != proxy.ts):
            retry = max(0, (proxy.attempt or 1) - 1)
            lines.append(f"{who}  API {proxy.status or proxy.error_type or 'error'}"
                         + (f" · retry {retry}" if retry else ""))
        elif new.api_errors > old.api_errors and new.last_error:
            lines.append(f"{who}  API {new.last_error.get('code') or 'error'} · Claude Code gave up")
        old_state = rules.state_of(old, then_s, old_proxy)[0]
        state = rules.state_of(new, now_s, proxy)[0]
        if state == "stalled" and old_state != "stalled":
            since = proxy.stall_since_s if proxy is not None and proxy.stall_since_s else new.waiting_since_s
            lines.append(f"{who}  STALL {fmt_s(now_s - (since or now_s))}")
    return lines
