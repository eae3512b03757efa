"""`ccprompt explain`: why the line shows what it shows, in plain words on one screen.

It reads what the status line reads (the state, the proxy's passive evidence, a session's
transcript) and asks the same pure rules (`core.signal.assess`, `core.schedule.decide`),
so the answer is the line's own reasoning, not a second opinion. Nothing is probed.
"""

from __future__ import annotations

import functools
import os
import sys
import time

from ccprompt.core.kinds import plain, word

SOURCES = {"probe": "from the last probe", "proxy": "from the local proxy's newest request",
           "session": "from the session (a reply newer than every failure, Claude Code's own retries, or the "
                      "error it gave up on)",
           "turn": "from the session: a turn waits on the API, and an anonymous probe cannot tell why",
           "none": "no evidence yet"}


def _age(seconds: float) -> str:
    from ccprompt.core.text import fmt_s

    return fmt_s(seconds)


def _ms(value) -> str:
    if value is None:
        return "?"
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def newest_transcript(claude_dir: str) -> str | None:
    """The most recently written `*.jsonl` under `<claude_dir>/projects/*/`."""
    root = os.path.join(claude_dir, "projects")
    best, best_mtime = None, -1.0
    try:
        projects = list(os.scandir(root))
    except OSError:
        return None
    for project in projects:
        try:
            entries = list(os.scandir(project.path)) if project.is_dir() else []
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith(".jsonl"):
                try:
                    mtime = entry.stat().st_mtime
                except OSError:
                    continue
                if mtime > best_mtime:
                    best, best_mtime = entry.path, mtime
    return best


@functools.lru_cache(maxsize=4)
def _login(paths):
    """`login.detect`, once per `Paths` for the run: the last probe and the sign-in both name it
    (on macOS each detection asks `security`)."""
    from ccprompt.sources import login

    return login.detect(paths)


def credential_words(state, paths) -> str:
    """With which credential the probe ran; for a keyless user, how Claude Code signs in instead."""
    if state.source not in (None, "none"):
        return f"with the credential from {state.source}"
    found = _login(paths)
    if found:
        return f"anonymous: {found.line()}"
    return "anonymous (no credential; a 401 still proves the path)"


def keyless_words(paths) -> str | None:
    """For a user with no key ccprompt can use: how Claude Code signs in, and what the line can know."""
    from ccprompt.sources import credentials

    if credentials.resolve(paths).present:
        return None
    found = _login(paths)
    return f"{found.line()} ({found.where})" if found else None


def last_probe(state, now_s: float, paths=None) -> str:
    from ccprompt.core.paths import Paths

    windows, network = state.windows, state.network
    if not windows.last_probe_epoch_ms:
        return "none yet"
    parts = [f"{_age(now_s - windows.last_probe_epoch_ms / 1000)} ago", f"{word(windows.last_probe_mode)} probe"]
    credential = credential_words(state, paths or Paths())
    if network.last_http_status:
        result = f"HTTP {network.last_http_status}"
        if network.error_type:
            result += f" {network.error_type}"
        result += f" in {_ms(network.latency_ms)}"
        if network.phases_ms.get("ttfb") is not None:
            result += f" (first byte at {_ms(network.phases_ms.get('ttfb'))})"
    elif network.failure_phase:
        result = f"no answer: failed at {network.failure_phase.upper()}"
    else:
        result = "no result recorded"
    return " · ".join(parts + [result, credential])


def rule(config, state) -> list:
    """The thresholds that judged the last probe, with the baseline they were measured against."""
    from ccprompt.core.transition import judge_state
    from ccprompt.core.verdict import MIN_ARM_RATIO, MIN_SAMPLES

    judge = judge_state(state, state.endpoint if state is not None else "")
    usual = judge.usual_ms()
    floor, factor, after = config["slow_floor_ms"], config["slow_factor"], config["error_after_ms"]
    lines = ["red: no 2xx answer (a 429 is yellow), a transport failure or a timeout; "
             f"a 2xx past {_ms(after)} twice in a row",
             f"yellow: a 2xx slow two ways at once (at least {MIN_ARM_RATIO:g}x the usual and "
             f"{_ms(floor)} slower), confirmed by the next probe; {factor:g}x the usual or past {_ms(after)} at once"]
    if usual is None:
        lines.append(f"baseline: {len(judge.samples)} of {MIN_SAMPLES} samples; "
                     "until there are more, only errors and the absolute limits count")
    else:
        lines.append(f"baseline: usual {_ms(usual)} over {len(judge.samples)} samples; "
                     f"slow streak {judge.slow_streak}")
    return lines


def passive(state, now_s: float) -> str:
    evidence = state.passive if state is not None else None
    if evidence is None or not evidence.at_ms or not evidence.outcome:
        return "none: no request through `ccprompt run claude` (the local proxy) recorded"
    text = f"the proxy's newest request, {_ago(evidence.at_ms, now_s)}: {evidence.outcome}"
    if evidence.http_status:
        text += f", HTTP {evidence.http_status}"
    if evidence.error_type:
        text += f" {evidence.error_type}"
    if evidence.ttfb_ms is not None:
        text += f", first byte after {_ms(evidence.ttfb_ms)}"
    return text


def _ago(epoch_ms: int, now_s: float) -> str:
    return f"{_age(now_s - epoch_ms / 1000)} ago"


def session(scan, path, now_s: float) -> str:
    if path is None:
        return "none found under ~/.claude/projects"
    if scan is None or not scan.read:
        return f"{path}: unreadable"
    parts = [path]
    if scan.error:
        error = scan.error
        state = "unresolved" if scan.unresolved else "followed by a reply"
        parts.append(f"API error {error.get('code') or error.get('type') or ''} "
                     f"{_age(now_s - (error.get('epoch_s') or now_s))} ago, {state}".replace("  ", " "))
    else:
        parts.append("no API error in its current turn")
    if scan.last_reply_epoch_s:
        parts.append(f"last reply {_age(now_s - scan.last_reply_epoch_s)} ago")
    if scan.waiting_since_epoch_s:
        parts.append(f"waiting on the API for {_age(now_s - scan.waiting_since_epoch_s)}")
        if (scan.attempts or 0) > 1:
            parts.append(f"Claude Code is retrying it: attempt {scan.attempts} (one `api-request` line per attempt)")
        elif scan.attempts == 1:
            parts.append("on its first attempt")
    return "; ".join(parts)


def next_probe(config, state, scan, now_s: float, decision) -> str:
    if decision.kind:
        return f"due now ({word(decision.kind)}: {plain(decision.reason)}); the next redraw or prompt starts it"
    if not config["monitoring_enabled"]:
        return "never: monitoring_enabled = false"
    if decision.reason.startswith("no probe can be made"):
        retry = state.windows.last_probe_epoch_ms / 1000 + 3 * config["red_interval_s"]
        return f"a retry in {_age(retry - now_s)} ({decision.reason})"
    from ccprompt.core import schedule

    # The same rules that decide, asked when: a failure on show is probed again on its backoff.
    due_ms, kind, reason = schedule.next_rule(int(now_s * 1000), state, config, transcript=scan)
    why = f"a baseline probe every {config['green_interval_s']}s" if kind == "GREEN" \
        else f"{word(kind)}: {plain(reason)}"
    return f"in {_age(due_ms / 1000 - now_s)} ({why}; now: {plain(decision.reason)})"


def explain(transcript: str | None = None, as_json: bool = False) -> int:
    from ccprompt.commands.common import checked_config
    from ccprompt.core import render, schedule, store
    from ccprompt.core.paths import Paths, base_endpoint
    from ccprompt.core.signal import assess
    from ccprompt.sources import transcript as transcripts

    paths = Paths()
    config = checked_config(paths)
    now_s = time.time()
    state = store.read_state_for(paths, base_endpoint(paths.env))
    path = transcript or newest_transcript(paths.claude_dir)
    scan = transcripts.scan(path, None, now_s, config["red_recent_s"], transcripts.memory_dir(paths)) if path else None
    signal = assess(state, scan, now_s, config["waiting_s"])
    decision = schedule.decide(int(now_s * 1000), state, config, transcript=scan)
    from ccprompt.core import limits
    from ccprompt.surfaces.payload_segments import as_cause

    signal = as_cause(paths, path, signal, state, scan, now_s, config["waiting_s"])
    line = render.network_segment(state, "full", signal)
    from ccprompt.core import statuspage

    page = statuspage.read(paths)
    pinned = statuspage.explaining(page, signal, state, int(now_s * 1000)) if config["statuspage_url"] else None
    if pinned is not None:
        line = render.network_segment(state, "short", signal) + statuspage.suffix(pinned)
    facts = {
        "line": line,
        "shown": f"{signal.status}, {SOURCES.get(signal.source, signal.source)}"
                 + (f": {signal.cause}" if signal.cause else ""),
        "last probe": last_probe(state, now_s, paths) if state else "none yet: no state (run `ccprompt probe`)",
        "verdict": (state.reason or state.status) if state else "-",
        "rule": rule(config, state),
        "proxy": passive(state, now_s),
        "session": session(scan, path, now_s),
        "next probe": next_probe(config, state, scan, now_s, decision) if state else "on the next redraw",
        "status page": statuspage.explain_lines(page, config["statuspage_url"], int(now_s * 1000), pinned,
                                                signal.status),
    }
    told = limits.explain_text(paths, path, now_s)
    if told:
        facts["limits"] = told
    keyless = keyless_words(paths)
    if keyless:
        facts["sign-in"] = keyless
    if as_json:
        from ccprompt.core.text import dumps_json

        sys.stdout.write(dumps_json(facts) + "\n")
        return 0
    import shutil
    import textwrap

    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 120)) - 13
    out = []
    for name, value in facts.items():
        values = value if isinstance(value, list) else [value]
        for i, text in enumerate(values):
            for j, piece in enumerate(textwrap.wrap(text, width, subsequent_indent="  ", break_on_hyphens=False,
                                                           break_long_words=False) or [""]):
                out.append(f"{name if i == 0 and j == 0 else '':<11}  {piece}")
    out.append("(the rules in full: docs/verdict.md; every link checked: ccprompt doctor)")
    from ccprompt.core.text import printable

    sys.stdout.write(printable("\n".join(out)) + "\n")
    return 0
