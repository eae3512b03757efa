"""`ccprompt postmortem`: one session's story as a deterministic, redacted markdown report.

The same transcript (and requests.jsonl) always gives the same report: times are UTC
and relative to the session's start, never to now. It holds no prompt text, no tool
input and no absolute path: tool calls appear as a name and a short hashed target.
"""

from __future__ import annotations

from ccprompt.core import prices
from ccprompt.core import session_rules as rules
from ccprompt.core.paths import Paths
from ccprompt.core.text import fmt_s, sanitize
from ccprompt.ops import postmortem_rules as find

PEAK_MARKS = (0.5, 0.8, 0.9)


def build(paths: Paths, transcript: str) -> dict:
    """The report as data: summary, timeline, causes, loops."""
    from ccprompt.sources.sessions import proxyjoin, timeline

    from ccprompt.core import seen

    events, facts = timeline.read(transcript)
    proxy = [e for e in proxyjoin.read_events(paths) if e.get("session_id") == facts["session_id"]]
    told = seen.recall(paths).get(facts["session_id"] or "", {})  # what Claude Code told the status line
    facts = {**facts, "window": told.get("window"), "status_line_cost_usd": told.get("cost_usd")}
    return analyse(events, facts, proxy)


def analyse(events: list, facts: dict, proxy_events=()) -> dict:
    """Pure: the report for redacted events (see `sources.sessions.timeline`)."""
    times = [e["t"] for e in events if e.get("t")]
    start = min(times) if times else None
    replies = find.distinct_replies(events)
    main = [r for r in replies if not r["sidechain"]]
    tokens = {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}
    cost, unpriced = 0.0, False
    for reply in replies:
        for key in tokens:
            tokens[key] += reply[key]
        one = prices.cost_usd(reply["model"], reply["input"], reply["output"], reply["cache_read"],
                              reply["cache_write"] - reply["cache_1h"], reply["cache_1h"])
        if one is None:
            unpriced = True
        else:
            cost += one
    model = main[-1]["model"] if main else None
    peak = max((r["context"] for r in main), default=0)
    window = rules.context_window(model, peak, facts.get("window"))
    reported = [v for v in (facts.get("reported_cost_usd"), facts.get("status_line_cost_usd")) if v is not None]
    timeline = []
    timeline += find.api_errors(events)
    timeline += find.stalls(events)
    timeline += find.cache_rebuilds(main)
    timeline += find.context_marks(main, window, PEAK_MARKS)
    timeline += find.model_switches(main)
    timeline += find.compactions(events)
    timeline += find.proxy_events(proxy_events)
    timeline.sort(key=lambda e: (e["t"] or 0, e["what"]))
    loops = find.tool_loops(events)
    causes = find.causes(events, main, timeline, loops, window)
    tools: dict = {}
    for event in events:
        if event["kind"] == "tool":
            tools[event["name"]] = tools.get(event["name"], 0) + 1
    return {
        "session_id": facts.get("session_id"),
        "claude_code_version": facts.get("version"),
        "partial": facts.get("partial", False),
        "start_utc": find.utc(start),
        "end_utc": find.utc(max(times) if times else None),
        "duration_s": round(max(times) - start, 1) if times else None,
        "model": model,
        "turns": sum(1 for e in events if e["kind"] == "prompt" and not e.get("sidechain")),
        "replies": len(replies),
        "tool_calls": sum(tools.values()),
        "tools": dict(sorted(tools.items(), key=lambda kv: (-kv[1], kv[0]))),
        "api_errors": sum(1 for e in events if e["kind"] == "api_error"),
        "tokens": tokens,
        "cost_usd": round(max(reported), 4) if reported else round(cost, 4),
        "cost_source": "claude code" if reported else "estimate",
        "cost_complete": bool(reported) or not unpriced,
        "context_peak": peak,
        "context_window": window,
        "timeline": [{**e, "offset": find.offset(e["t"], start)} for e in timeline],
        "likely_cause": causes[0] if causes else None,
        "other_findings": causes[1:],
        "tool_loops": loops,
    }


def markdown(doc: dict) -> str:
    """The report as markdown; every value from outside is sanitised."""
    out = [f"# Postmortem: session {sanitize(doc['session_id'] or '?', 64)[:8]}", ""]
    out.append("## Summary")
    out.append("")
    cost = f"${doc['cost_usd']:.2f}" + ("" if doc["cost_complete"] else " (some models unpriced)")
    rows = [
        ("Session", sanitize(doc["session_id"] or "?", 64)),
        ("Claude Code", sanitize(doc["claude_code_version"] or "?", 20)),
        ("Model", sanitize(doc["model"] or "?", 100)),
        ("Started (UTC)", doc["start_utc"] or "?"),
        ("Duration", fmt_s(doc["duration_s"])),
        ("Turns", f"{doc['turns']} prompts, {doc['replies']} replies, {doc['tool_calls']} tool calls"),
        ("Tokens", ", ".join(f"{k.replace('_', ' ')} {rules.short_tokens(v)}" for k, v in doc["tokens"].items())),
        ("Cost (Claude Code's own figure)" if doc.get("cost_source") == "claude code" else "Estimated cost", cost),
        ("Context peak", f"{rules.short_tokens(doc['context_peak'])} of {rules.short_tokens(doc['context_window'])}"
                         f" ({doc['context_peak'] / doc['context_window'] * 100:.0f}%)"),
        ("API errors", str(doc["api_errors"])),
    ]
    if doc["tools"]:
        rows.append(("Tools", ", ".join(f"{sanitize(k, 40)} {v}" for k, v in doc["tools"].items())))
    out += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    if doc["partial"]:
        out += ["", "_Only the newest part of a very long transcript was read._"]
    out += ["", "## Likely cause", ""]
    cause = doc["likely_cause"]
    if cause is None:
        out.append("Nothing went wrong that the transcript shows.")
    else:
        out += [f"**{cause['cause']}**", "", f"- Evidence: {cause['evidence']}", f"- Next: {cause['next']}"]
    if doc["other_findings"]:
        out += ["", "Also:"]
        out += [f"- {c['cause']} ({c['evidence']}). Next: {c['next']}" for c in doc["other_findings"]]
    out += ["", "## Timeline", ""]
    if doc["timeline"]:
        out += ["| at (UTC) | +since start | what | detail |", "|---|---|---|---|"]
        for event in doc["timeline"]:
            out.append(f"| {find.utc(event['t'], time_only=True) or '?'} | {event['offset']} | {event['what']} "
                       f"| {sanitize(event['detail'], 160)} |")
    else:
        out.append("No API errors, stalls, cache rebuilds, context peaks or model switches.")
    out += ["", "## Tool loops", ""]
    if doc["tool_loops"]:
        out += ["| tool | target | times | longest run |", "|---|---|---|---|"]
        out += [f"| {sanitize(loop['tool'], 40)} | {sanitize(loop['target'], 60)} | {loop['count']} | {loop['run']} |"
                for loop in doc["tool_loops"]]
    else:
        out.append(f"None (no tool on the same target {find.LOOP_MIN} times or more).")
    out += ["", "_Redacted: no prompt text, tool inputs or paths; targets are short hashes._", ""]
    return "\n".join(out)
