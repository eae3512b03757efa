"""The scheduler's rule: is a probe due now (COLD > RED > GREEN), and why.

RED covers three triggers that share one 10-second window across all sessions: an
unresolved API error in the transcript, a turn waiting on the API for longer than
`waiting_s` (Claude Code writes nothing while it retries), and a reply that proves a
recovery the state has not confirmed yet.

`decide` is pure: it takes the time, the state and the inputs and returns a `Decision`,
so every window can be tested without sleeping. Starting the probe is `sources.spawn`'s job.
"""

from ccprompt.core.model import Decision, MonitorState, TranscriptScan
from ccprompt.core.signal import recovered_unconfirmed, waiting_too_long


def decide(now_ms: int, state: MonitorState | None, config, *, session_id=None, duration_ms=None,
           transcript: TranscriptScan | None = None) -> Decision:
    """Whether a probe is due, judged on the wall clock against the state's windows."""
    if not config["monitoring_enabled"]:
        return Decision(kind=None, reason="monitoring disabled")
    green_ms = config["green_interval_s"] * 1000
    red_ms = config["red_interval_s"] * 1000
    quiet_ms = config["cold_quiet_s"] * 1000

    if state is None:
        return Decision(kind="COLD", reason="no valid state yet")
    windows = state.windows
    last_probe = windows.last_probe_epoch_ms
    if state.status == "unknown" and state.reason and last_probe and 0 <= now_ms - last_probe < 3 * red_ms:
        # No probe could be made (no credential, a refused one): trying on every redraw
        # would not change that; look again every 30 s.
        return Decision(kind=None, reason=f"no probe can be made: {state.reason}")
    recently_probed = last_probe and 0 <= now_ms - last_probe < quiet_ms

    cold_skip = None
    new_session = (
        isinstance(session_id, str)
        and session_id
        and session_id not in windows.recent_cold_sessions
        and isinstance(duration_ms, (int, float))
        and duration_ms < config["cold_window_ms"]
    )
    if new_session:
        if not recently_probed:
            return Decision(kind="COLD", reason=f"first render of session {session_id[:8]}")
        cold_skip = "new session, but a probe finished under 30 s ago"

    red_skip = None
    red_reason = None
    if transcript and transcript.error and transcript.unresolved and transcript.recent:
        red_reason = "recent unresolved API error in the transcript"
    elif waiting_too_long(transcript, now_ms / 1000, config["waiting_s"]):
        red_reason = f"a turn has waited {now_ms / 1000 - transcript.waiting_since_epoch_s:.0f}s on the API"
    elif recovered_unconfirmed(state, transcript):
        red_reason = "a reply shows the API answers again; confirming"
    if red_reason:
        if windows.last_red_window_id != now_ms // red_ms:
            return Decision(kind="RED", reason=red_reason)
        red_skip = "RED window already probed"

    if state.judge.get("confirm") is True and windows.last_red_window_id != now_ms // red_ms \
            and now_ms - windows.last_probe_epoch_ms >= red_ms:
        return Decision(kind="CONFIRM", reason="the last probe was slow; confirming before the colour changes")

    last_baseline = windows.last_baseline_epoch_ms
    if not last_baseline or now_ms - last_baseline >= green_ms:
        if windows.last_green_window_id != now_ms // green_ms:
            return Decision(kind="GREEN", reason="baseline probe is older than the GREEN interval")
    return Decision(kind=None, reason=red_skip or cold_skip or "nothing due")
