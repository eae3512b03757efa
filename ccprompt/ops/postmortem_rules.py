"""The postmortem's findings, each a pure function of redacted events: errors, stalls, cache, loops, causes."""

from __future__ import annotations

from ccprompt.core import session_rules as rules
from ccprompt.core.text import fmt_s

STALL_S = 60
REBUILD_MIN_TOKENS = 10_000
LOOP_MIN = 4
PROXY_EVENTS_MAX = 60
ERROR_NEXT = {
    529: "the API was overloaded (server-side): wait a minute and retry, or switch model with /model",
    500: "a server-side error: retry; if it repeats, check `ccprompt status` and the API status page",
    429: "rate limited: slow down, wait for the reset, or check the plan's limits",
    401: "the credential was refused: check ANTHROPIC_API_KEY or log in again",
    400: "the request was refused: the context may be too large; /compact or start a new session",
}


def utc(t, time_only: bool = False) -> str | None:
    if t is None:
        return None
    from datetime import datetime, timezone

    moment = datetime.fromtimestamp(t, timezone.utc)
    return moment.strftime("%H:%M:%S" if time_only else "%Y-%m-%d %H:%M:%S")


def offset(t, start) -> str:
    return "+" + fmt_s(t - start) if t is not None and start is not None else "?"


def distinct_replies(events: list) -> list:
    """One reply per message id (Claude Code writes a line per content block), with its last usage."""
    by_id: dict = {}
    order = []
    for event in events:
        if event["kind"] != "reply":
            continue
        key = event["id"] or id(event)
        if key not in by_id:
            order.append(key)
            by_id[key] = dict(event)
        else:
            first_t = by_id[key]["t"]
            by_id[key] = {**event, "t": first_t}
    return [by_id[key] for key in order]


def _event(t, what: str, detail: str) -> dict:
    return {"t": t, "what": what, "detail": detail}


def api_errors(events: list) -> list:
    """Each error Claude Code gave up with, and how many attempts it made (its `api-request` lines, 2.1.332 on)."""
    out = []
    attempts = 0
    for event in events:
        kind = event["kind"]
        if kind in ("prompt", "tool_result") and not event.get("sidechain"):
            attempts = 0
        elif kind == "attempt":
            attempts += 1
        elif kind == "api_error":
            label = " ".join(str(x) for x in (event.get("code"), event.get("type")) if x) or "unknown"
            tried = f" after {attempts} attempts" if attempts > 1 else ""
            out.append(_event(event["t"], "API error", f"{label}; Claude Code gave up on this turn{tried}"))
            attempts = 0
    return out


def stalls(events: list) -> list:
    """Requests that waited STALL_S or more for their reply or for the error that ended them."""
    out = []
    waiting = None
    seen = set()
    for event in events:
        kind = event["kind"]
        if kind in ("prompt", "tool_result") and not event.get("sidechain"):
            if waiting is None:
                waiting = event["t"]
        elif kind in ("reply", "api_error") and not event.get("sidechain"):
            if kind == "reply" and event["id"] in seen:
                continue
            seen.add(event.get("id"))
            if waiting is not None and event["t"] is not None and event["t"] - waiting >= STALL_S:
                gap = fmt_s(event["t"] - waiting)
                text = (f"retried for {gap}, then failed" if kind == "api_error"
                        else f"the reply came {gap} after the request")
                out.append(_event(event["t"], "stall" if kind == "reply" else "retries", text))
            waiting = None
    return out


def cache_rebuilds(main: list) -> list:
    """Replies that wrote most of their prompt to the cache again, and why (expiry or a changed prefix)."""
    out = []
    ttl = rules.CACHE_TTL_5M
    for previous, reply in zip(main, main[1:]):
        if previous["cache_1h"]:
            ttl = rules.CACHE_TTL_1H
        elif previous["cache_write"]:
            ttl = rules.CACHE_TTL_5M
        if reply["cache_write"] < REBUILD_MIN_TOKENS or reply["cache_read"] >= reply["context"] / 2:
            continue
        idle = (reply["t"] or 0) - (previous["t"] or 0)
        sent = rules.short_tokens(reply["cache_write"])
        if idle > ttl:
            detail = f"cache expired after a {_minutes(idle)} idle; this turn re-sent {sent} tokens"
            out.append(_event(reply["t"], "cache rebuild", detail))
        else:
            out.append(_event(reply["t"], "cache miss", f"the prompt prefix changed; this turn re-sent {sent} tokens"))
    return out


def _minutes(seconds: float) -> str:
    return f"{round(seconds / 60)}-minute" if seconds >= 90 else f"{int(seconds)}-second"


def context_marks(main: list, window: int, marks) -> list:
    out = []
    passed = set()
    for reply in main:
        ratio = reply["context"] / window
        for mark in marks:
            if ratio >= mark and mark not in passed:
                passed.add(mark)
                out.append(_event(reply["t"], "context", f"passed {mark * 100:.0f}% of the window "
                                                         f"({rules.short_tokens(reply['context'])})"))
    peak = max(main, key=lambda r: r["context"], default=None)
    if peak is not None and peak["context"]:
        out.append(_event(peak["t"], "context peak", f"{rules.short_tokens(peak['context'])}, "
                                                     f"{peak['context'] / window * 100:.0f}% of the window"))
    return out


def model_switches(main: list) -> list:
    out = []
    for previous, reply in zip(main, main[1:]):
        if reply["model"] and previous["model"] and reply["model"] != previous["model"]:
            out.append(_event(reply["t"], "model switch", f"{previous['model']} → {reply['model']}"))
    return out


def compactions(events: list) -> list:
    return [_event(e["t"], "compaction", "the conversation was compacted") for e in events if e["kind"] == "compaction"]


def proxy_events(events) -> list:
    """Retries, failures, stalls and route changes the proxy saw for this session."""
    out = []
    for event in events:
        kind, ts = event.get("kind"), event.get("ts")
        if kind == "stall":
            out.append(_event(ts, "proxy stall", f"no bytes for {fmt_s((event.get('idle_ms') or 0) / 1000)}"))
        elif kind == "attempt":
            attempt = event.get("attempt") or 1
            if event.get("outcome") != "ok":
                label = " ".join(str(x) for x in (event.get("status"), event.get("error_type")) if x) or "no answer"
                out.append(_event(ts, "proxy", f"attempt {attempt}: {label}"))
            elif attempt > 1:
                out.append(_event(ts, "proxy", f"attempt {attempt} succeeded after {attempt - 1} retries"))
            view = rules.ProxyView(model_requested=event.get("model_requested"), model_served=event.get("model_served"))
            if rules.route_mismatch(view):
                out.append(_event(ts, "model route", f"requested {view.model_requested}, got {view.model_served}"))
    return out[-PROXY_EVENTS_MAX:]


def tool_loops(events: list) -> list:
    """The same tool on the same target LOOP_MIN times or more, with its longest unbroken run."""
    counts: dict = {}
    runs: dict = {}
    last, run = None, 0
    for event in events:
        if event["kind"] != "tool":
            continue
        key = (event["name"], event["target"])
        run = run + 1 if key == last else 1
        last = key
        if event["target"] is None:
            continue
        counts[key] = counts.get(key, 0) + 1
        runs[key] = max(runs.get(key, 0), run)
    loops = [{"tool": k[0], "target": k[1], "count": n, "run": runs[k]} for k, n in counts.items() if n >= LOOP_MIN]
    return sorted(loops, key=lambda x: (-x["count"], x["tool"], x["target"]))


def causes(events: list, main: list, timeline: list, loops: list, window: int) -> list:
    """Findings, most likely first, each {cause, evidence, next}."""
    found = []
    errors = [e for e in events if e["kind"] == "api_error"]
    if errors:
        last = errors[-1]
        code = last.get("code")
        resolved = any(e["kind"] == "reply" and (e["t"] or 0) > (last["t"] or 0) for e in events)
        retried = [e for e in timeline if e["what"] == "retries" and e["t"] == last["t"]]
        evidence = f"{len(errors)} API error{'s' if len(errors) != 1 else ''}, the last {code or 'unknown'} at " \
                   f"{utc(last['t'], True)} UTC" + (f" ({retried[0]['detail']})" if retried else "")
        next_step = ERROR_NEXT.get(code, "retry; run `ccprompt doctor` if it repeats")
        cause = f"the API answered {code or 'an error'}" + ("" if resolved else ", and the session stopped there")
        found.append((0 if not resolved else 2, {"cause": cause, "evidence": evidence, "next": next_step}))
    slow = [e for e in timeline if e["what"] in ("stall", "proxy stall")]
    if slow:
        found.append((1, {"cause": "a reply stalled", "evidence": "; ".join(e["detail"] for e in slow[:3]),
                          "next": "watch `ccprompt sessions --watch`; run `ccprompt doctor`; with `ccprompt run "
                                  "claude` the proxy records where the stream went quiet"}))
    rebuilds = [e for e in timeline if e["what"] == "cache rebuild"]
    if rebuilds:
        found.append((3, {"cause": rebuilds[-1]["detail"], "evidence": f"{len(rebuilds)} cache rebuild"
                          f"{'s' if len(rebuilds) != 1 else ''}, the last at {utc(rebuilds[-1]['t'], True)} UTC",
                          "next": "answer within the cache TTL, or /compact before a break so the rebuild is small"}))
    peak = max((r["context"] for r in main), default=0)
    if peak >= window * rules.CONTEXT_WARN:
        found.append((4, {"cause": f"the context reached {peak / window * 100:.0f}% of the window",
                          "evidence": f"peak {rules.short_tokens(peak)} of {rules.short_tokens(window)}",
                          "next": "/compact at a natural break, or start a new session for the next task"}))
    for loop in loops[:2]:
        found.append((5, {"cause": f"{loop['tool']} ran on the same target {loop['count']} times",
                          "evidence": f"target {loop['target']}, longest unbroken run {loop['run']}",
                          "next": "interrupt and change the instruction; the same call is not converging"}))
    switches = [e for e in timeline if e["what"] in ("model switch", "model route")]
    if switches:
        found.append((6, {"cause": "the model changed during the session", "evidence": switches[-1]["detail"],
                          "next": "check /model and any fallback model setting"}))
    found.sort(key=lambda pair: pair[0])
    return [finding for _, finding in found]
