"""The scheduler's rule: is a probe due now (COLD > RED > CONFIRM > RED backoff > GREEN > PATH),
when is the next one due, and why.

RED covers four triggers that share one 10-second window across all sessions: an
unresolved API error in the transcript, a turn Claude Code is retrying (a second
`api-request` line for it, 2.1.332 on: at once), a turn waiting on the API for longer
than `waiting_s` (older versions write nothing while they retry), and a reply that
proves a recovery the state has not confirmed yet. While a failure is on show, a RED
probe also comes back on a backoff (`backoff_s`), so a recovery is seen without any
session activity. Between baselines, while the API answers, a PATH check (DNS, TCP and
TLS, nothing sent) every `path_interval_s` finds a network that went away, again without
any session activity.

Every rule gives the moment it falls due, so `decide` (is one due now?) and `next_due_ms`
(when is the next one?) can never disagree: the status line asks the first, the prompt
cache carries the second for the shell hooks, and `watch` waits by `backoff_s` too.
All pure: they take the time, the state and the inputs, so every window is tested without
sleeping. Starting the probe is `sources.spawn`'s job.
"""

from ccprompt.core.model import ANSWERED, Decision, MonitorState, TranscriptScan
from ccprompt.core.signal import recovered_unconfirmed

# The backoff while a failure is on show: a retry every `red_interval_s` for FAST_PROBES failed
# probes in a row (ten minutes at 10 s, so a recovery is on the line within 15 s, as while a
# session shows an API error), then doubling from there up to the baseline interval.
FAST_PROBES = 60
# Retries after the first are shortened by up to this share, so machines that failed
# together do not retry in step; never lengthened, so the promise above holds.
JITTER = 0.2
# The status line starts a probe that falls due this soon (the child waits for the moment),
# so its result is on show at the first redraw after it: ccprompt's refreshInterval.
AHEAD_S = 2


def backoff_s(failures: int, first_s: float, cap_s: float, fraction: float = 0.0) -> float:
    """Seconds from a failed probe to the next, after `failures` failed probes in a row.

    0 failures: `cap_s` (the baseline interval). 1 to FAST_PROBES: `first_s`. Then doubling
    (2, 4, 8 x `first_s`...), never past `cap_s`. `fraction` (0 to 1) shortens every retry
    after the first by up to JITTER: the caller's source of spread.
    """
    if failures <= 0:
        return cap_s
    if failures == 1:
        return min(first_s, cap_s)
    doublings = min(max(failures - FAST_PROBES, 0), 40)
    fraction = min(max(fraction, 0.0), 1.0)
    return min(first_s * 2 ** doublings * (1 - JITTER * fraction), cap_s)


def failures_on_show(state: MonitorState | None) -> tuple:
    """(failed probes in a row, since when in ms) for the failure the line shows; (0, 0) for none.

    A real request the proxy saw fail after the last probe counts as one failure.
    """
    if state is None or not state.monitoring_enabled:
        return 0, 0
    windows, passive = state.windows, state.passive
    if passive.outcome and passive.at_ms > windows.last_probe_epoch_ms:
        return (1, passive.at_ms) if passive.outcome == "error" else (0, 0)
    if state.status == "error":
        return max(windows.failed_in_a_row, 1), windows.last_probe_epoch_ms
    return 0, 0


def _window_due(at_ms: int, last_window_id: int, size_ms: int) -> int:
    """`at_ms`, or the start of the next window when the window at `at_ms` was already probed."""
    return at_ms if last_window_id != at_ms // size_ms else (at_ms // size_ms + 1) * size_ms


def _rules(now_ms: int, state: MonitorState | None, config, session_id, duration_ms, transcript):
    """(candidates, block_until_ms, skip): each rule that applies as (kind, due_ms, reason),
    highest priority first; a time before which nothing is due; why a due rule was skipped."""
    red_ms = config["red_interval_s"] * 1000
    green_ms = config["green_interval_s"] * 1000
    if state is None:
        return [("COLD", now_ms, "no valid state yet")], 0, None
    windows = state.windows
    last_probe = windows.last_probe_epoch_ms
    block = 0
    if state.status == "unknown" and state.reason and last_probe and 0 <= now_ms - last_probe < 3 * red_ms:
        # No probe could be made (no credential, a refused one): trying on every redraw
        # would not change that; look again every 30 s.
        block = last_probe + 3 * red_ms
    candidates, skip, red_skip = [], None, None

    new_session = (
        isinstance(session_id, str)
        and session_id
        and session_id not in windows.recent_cold_sessions
        and isinstance(duration_ms, (int, float))
        and duration_ms < config["cold_window_ms"]
    )
    if new_session:
        if last_probe and 0 <= now_ms - last_probe < config["cold_quiet_s"] * 1000:
            skip = "new session, but a probe finished under 30 s ago"
        else:
            candidates.append(("COLD", now_ms, f"first render of session {session_id[:8]}"))

    red_id = windows.last_red_window_id
    triggers = []  # (since when the trigger holds, why)
    if transcript and transcript.error and transcript.unresolved and transcript.recent:
        triggers.append((now_ms, "recent unresolved API error in the transcript"))
    if transcript and transcript.waiting_since_epoch_s and (transcript.attempts or 0) > 1:
        triggers.append((now_ms, f"Claude Code is retrying a turn (attempt {transcript.attempts})"))
    if transcript and transcript.waiting_since_epoch_s:
        since_ms = int(transcript.waiting_since_epoch_s * 1000)
        triggers.append((max(now_ms, since_ms + config["waiting_s"] * 1000),
                         f"a turn has waited {max(now_ms - since_ms, 0) / 1000:.0f}s on the API"))
    if recovered_unconfirmed(state, transcript):
        triggers.append((now_ms, "a reply shows the API answers again; confirming"))
    for at, reason in triggers:
        due = _window_due(at, red_id, red_ms)
        if at <= now_ms < due:
            red_skip = "RED window already probed"
        candidates.append(("RED", due, reason))

    if state.judge.get("confirm") is True:
        at = max(now_ms, last_probe + red_ms)
        candidates.append(("CONFIRM", _window_due(at, red_id, red_ms),
                           "the last probe was slow; confirming before the colour changes"))

    failures, since_ms = failures_on_show(state)
    if failures:
        delay = backoff_s(failures, config["red_interval_s"], config["green_interval_s"], since_ms % 1000 / 1000)
        candidates.append(("RED", _window_due(max(now_ms, since_ms + int(delay * 1000)), red_id, red_ms),
                           f"a failure is on show: probing again {delay:.0f}s after the last "
                           f"({failures} failed in a row)"))

    baseline = windows.last_baseline_epoch_ms
    at = max(now_ms, baseline + green_ms) if baseline else now_ms
    candidates.append(("GREEN", _window_due(at, windows.last_green_window_id, green_ms),
                       "baseline probe is older than the GREEN interval"))

    path_ms = config["path_interval_s"] * 1000
    if path_ms and state.status in ANSWERED and not failures and last_probe:
        # Between baselines, a network that went away is found within `path_interval_s`:
        # DNS, TCP and TLS only, with nothing sent (see `sources.probe.run(connect_only=True)`).
        checked = max(last_probe, windows.last_path_epoch_ms)
        candidates.append(("PATH", max(now_ms, checked + path_ms),
                           f"the network path was last checked {max(now_ms - checked, 0) / 1000:.0f}s ago"))
    return candidates, block, red_skip or skip


def decide(now_ms: int, state: MonitorState | None, config, *, session_id=None, duration_ms=None,
           transcript: TranscriptScan | None = None) -> Decision:
    """Whether a probe is due, judged on the wall clock against the state's windows."""
    if not config["monitoring_enabled"]:
        return Decision(kind=None, reason="monitoring disabled")
    candidates, block, skip = _rules(now_ms, state, config, session_id, duration_ms, transcript)
    if block > now_ms:
        return Decision(kind=None, reason=f"no probe can be made: {state.reason}")
    for kind, due, reason in candidates:
        if due <= now_ms:
            return Decision(kind=kind, reason=reason)
    return Decision(kind=None, reason=skip or "nothing due")


def next_rule(now_ms: int, state: MonitorState | None, config, *, transcript: TranscriptScan | None = None):
    """(when, kind, why) `decide` will next find a probe due (now_ms when one is due now); None when never.

    Session-only rules (a new session's COLD probe) are left out: they come with a render.
    """
    if not config["monitoring_enabled"]:
        return None
    candidates, block, _ = _rules(now_ms, state, config, None, None, transcript)
    kind, due, reason = min(candidates, key=lambda rule: rule[1])  # the first of equals: the higher priority
    return max(block, due), kind, reason


def next_due(now_ms: int, state: MonitorState | None, config, *, transcript: TranscriptScan | None = None):
    """(when, kind) of `next_rule`; None when never."""
    upcoming = next_rule(now_ms, state, config, transcript=transcript)
    return upcoming[:2] if upcoming else None


def next_due_ms(now_ms: int, state: MonitorState | None, config, *, transcript: TranscriptScan | None = None):
    """When `decide` will next find a probe due (see `next_due`); None when never."""
    upcoming = next_due(now_ms, state, config, transcript=transcript)
    return upcoming[0] if upcoming else None
