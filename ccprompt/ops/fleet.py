"""Session gauges for Prometheus, by project and model: the fleet of Claude Code sessions at a glance.

Cardinality stays bounded: labels are the project's directory name (the busiest
MAX_PROJECTS, the rest folded into `other`) and the model family and version, never a
session id, unless `--by-session` asks for one series per session.
"""

from __future__ import annotations

import time

from ccprompt.core import session_rules as rules
from ccprompt.core.paths import Paths
from ccprompt.ops.metrics import Exposition

ACTIVE_S = 6 * 3600
MAX_PROJECTS = 20
OTHER = "other"


def model_label(model) -> str:
    """`opus-4-8` from `claude-opus-4-8-20260101[1m]`: no date, no prefix, so a handful of values."""
    text = str(model or "unknown").lower().split("[", 1)[0]
    if text.startswith("claude-"):
        text = text[len("claude-"):]
    parts = text.split("-")
    if parts and len(parts[-1]) == 8 and parts[-1].isdigit():
        parts = parts[:-1]
    return "-".join(parts)[:40] or "unknown"


def _groups(pairs, now_s: float) -> dict:
    busiest = {}
    for summary, _ in pairs:
        busiest[summary.project] = busiest.get(summary.project, 0) + 1
    kept = set(sorted(busiest, key=lambda p: (-busiest[p], p))[:MAX_PROJECTS])
    groups: dict = {}
    for summary, proxy in pairs:
        project = summary.project if summary.project in kept else OTHER
        groups.setdefault((project or OTHER, model_label(summary.model)), []).append((summary, proxy))
    return groups


def render(pairs, now_s: float) -> str:
    """The session families for (summary, proxy) pairs."""
    out = Exposition()
    states = {state: 0 for state in rules.STATES}
    for summary, proxy in pairs:
        states[rules.state_of(summary, now_s, proxy)[0]] += 1
    out.family("ccprompt_sessions", "gauge", f"Sessions active in the last {ACTIVE_S // 3600}h, by state.",
               [({"state": state}, count) for state, count in states.items()])
    groups = _groups(pairs, now_s)
    rows = sorted(groups.items())

    def labels(key):
        return {"project": key[0], "model": key[1]}

    out.family("ccprompt_sessions_active", "gauge", "Active sessions by project and model.",
               [(labels(k), len(v)) for k, v in rows])
    out.family("ccprompt_sessions_attention", "gauge",
               "Sessions that are errored, stalled or waiting on the API for 30 s or more.",
               [(labels(k), sum(rules.attention(s, now_s, p) <= 2 for s, p in v)) for k, v in rows])
    out.family("ccprompt_session_context_ratio_max", "gauge",
               "Largest context use as a fraction of the window, by project and model.",
               [(labels(k), max((rules.context_ratio(s, p.window if p else None) or 0) for s, p in v))
                for k, v in rows])
    out.family("ccprompt_session_cache_hit_ratio", "gauge",
               "Mean prompt-cache hit ratio of each session's last reply.",
               [(labels(k), _mean([s.hit_ratio for s, _ in v])) for k, v in rows])
    out.family("ccprompt_session_cache_warm", "gauge", "Sessions whose prompt cache has not expired yet.",
               [(labels(k), sum((rules.cache_left_s(s, now_s) or 0) > 0 for s, _ in v)) for k, v in rows])
    out.family("ccprompt_session_waiting_seconds_max", "gauge",
               "Longest current wait on the API (0 when nothing waits).",
               [(labels(k), max((now_s - s.waiting_since_s if s.waiting_since_s else 0) for s, _ in v))
                for k, v in rows])
    out.family("ccprompt_session_api_errors", "gauge", "API errors written to the transcripts of active sessions.",
               [(labels(k), sum(s.api_errors for s, _ in v)) for k, v in rows])
    out.family("ccprompt_session_turns", "gauge", "Prompts in active sessions.",
               [(labels(k), sum(s.turns for s, _ in v)) for k, v in rows])
    out.family("ccprompt_session_tool_calls", "gauge", "Tool calls in active sessions.",
               [(labels(k), sum(sum(s.tools.values()) for s, _ in v)) for k, v in rows])
    out.family("ccprompt_session_cost_usd", "gauge",
               "Cost of active sessions: Claude Code's own figure where it gave one, else ccprompt's estimate.",
               [(labels(k), round(sum(rules.session_cost(s, p)[0] for s, p in v), 6)) for k, v in rows])
    tokens = []
    for k, v in rows:
        for kind, field in (("input", "input_tokens"), ("output", "output_tokens"),
                            ("cache_read", "cache_read_tokens"), ("cache_write", "cache_write_tokens")):
            tokens.append(({**labels(k), "kind": kind}, sum(getattr(s, field) for s, _ in v)))
    out.family("ccprompt_session_tokens", "gauge", "Tokens used by active sessions, by kind.", tokens)
    out.family("ccprompt_session_route_mismatch", "gauge",
               "Sessions the proxy saw answered by another model than the one requested.",
               [(labels(k), sum(rules.route_mismatch(p) for _, p in v)) for k, v in rows])
    room = [(labels(k), min(p.headroom for _, p in v if p is not None and p.headroom is not None))
            for k, v in rows if any(p is not None and p.headroom is not None for _, p in v)]
    out.family("ccprompt_session_ratelimit_headroom", "gauge",
               "Lowest rate-limit remaining/limit the proxy saw, by project and model.", room)
    return out.text() if out.lines else ""


def by_session_text(pairs, now_s: float) -> str:
    """One series per session id: only on request, since ids are unbounded."""
    out = Exposition()
    out.family("ccprompt_session_info", "gauge", "One series per active session (state as a label).",
               [({"session": s.session_id[:36], "project": s.project, "model": model_label(s.model),
                  "state": rules.state_of(s, now_s, p)[0]}, 1) for s, p in pairs])
    out.family("ccprompt_session_context_ratio", "gauge", "Context use as a fraction of the window, per session.",
               [({"session": s.session_id[:36]}, rules.context_ratio(s, p.window if p else None) or 0) for s, p in pairs])
    out.family("ccprompt_session_cache_seconds_left", "gauge", "Seconds before the prompt cache expires.",
               [({"session": s.session_id[:36]}, max(0.0, rules.cache_left_s(s, now_s) or 0)) for s, _ in pairs])
    return out.text() if out.lines else ""


def _mean(values):
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 4) if values else None


def pairs_now(paths: Paths, now_s: float | None = None) -> tuple:
    from ccprompt.sources.sessions import listing

    now_s = time.time() if now_s is None else now_s
    return listing.pairs(paths, now_s, ACTIVE_S), now_s


def collect(paths: Paths, now_s: float | None = None) -> str:
    pairs, now_s = pairs_now(paths, now_s)
    return render(pairs, now_s)


def by_session(paths: Paths, now_s: float | None = None) -> str:
    pairs, now_s = pairs_now(paths, now_s)
    return by_session_text(pairs, now_s)


def exposition(paths: Paths, by_session_too: bool = False) -> str:
    """Everything `ccprompt metrics` exports: the probe state and history, then the sessions."""
    from ccprompt.ops import metrics as metrics_mod

    pairs, now_s = pairs_now(paths)
    text = metrics_mod.collect(paths) + render(pairs, now_s)
    return text + (by_session_text(pairs, now_s) if by_session_too else "")
