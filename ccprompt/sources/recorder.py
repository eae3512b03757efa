"""The recorder: the single path that writes the state, the prompt cache and the history.

Every probe goes through `probe_and_record` while holding the probe lock, and re-reads
the state under it, so concurrent sessions never lose or interleave updates.
"""

from __future__ import annotations

import time

from ccprompt.core import debuglog, files, store, transition, verdict
from ccprompt.core.config import TIMEOUT_CAP_MS, Config
from ccprompt.core.model import MonitorState, Outcome, Passive, RefreshResult, TranscriptScan
from ccprompt.core.paths import Paths
from ccprompt.core.text import redact_url


class UnsafeStateDir(Exception):
    """The state directory belongs to someone else or others can write to it."""


def probe_lock(paths: Paths) -> files.FileLock:
    return files.FileLock(paths.lock_file)


def prepare(paths: Paths) -> None:
    """Make sure the state directory exists and is ours alone; raises UnsafeStateDir."""
    problem = files.unsafe_dir(paths.state_dir)
    if problem:
        raise UnsafeStateDir(f"refusing the state directory: {problem}")
    files.private_dir(paths.state_dir)


def probe_and_record(paths: Paths, config: Config, mode: str, *, session_id=None,
                     transcript: TranscriptScan | None = None, timeout_override=None, write: bool = True,
                     previous="read", model=None):
    """Probe once, judge it, and (unless write=False) record it. Caller holds the lock.

    Returns (outcome or None, new state). The outcome is None when no probe could be made:
    monitoring off, no credential with anonymous probing off, or a credential refused.
    """
    from ccprompt.sources import credentials, probe

    credential = credentials.resolve(paths)
    if previous == "read":
        previous = store.read_state_for(paths, redact_url(credential.endpoint))
    debug = debuglog.enabled(config)
    if debug:
        debuglog.log(paths, "credential", source=credential.source, kind=credential.kind,
                     token_length=credential.token_length, base_url_source=credential.base_url_source)
    now_s = time.time()
    reason = None
    if not config["monitoring_enabled"]:
        reason = "monitoring off"
    elif credential.problem:
        reason = credential.problem
    elif not credential.present and not config["anonymous"]:
        reason = "Env vars NOT Found"
    if reason:
        new = transition.unknown_state(previous, reason=reason, endpoint=credential.endpoint,
                                       source=credential.source if credential.present else "none", now_s=now_s,
                                       monitoring_enabled=config["monitoring_enabled"])
        if write:
            record(paths, config, None, new)
        return None, new

    endpoint = redact_url(credential.endpoint)
    judged = transition.judge_state(previous, endpoint)
    timeout_ms = verdict.probe_timeout_ms(mode, judged.samples, config.timeout_ms, timeout_override)
    probe_model = model or config["probe_model"]
    if debug:
        debuglog.log(paths, "probe_start", mode=mode, timeout_ms=timeout_ms, model=probe_model)
    outcome = probe.run(credential, model=probe_model, timeout_ms=timeout_ms, mode=mode, env=paths.env,
                        connect_only=mode == "PATH")
    if mode == "PATH" and not outcome.failure_phase and previous is not None:
        # The path connects: nothing to judge (nothing was asked), only the time to remember.
        new = MonitorState.from_json(previous.to_json())
        new.windows.last_path_epoch_ms = int(time.time() * 1000)
        if debug:
            debuglog.log(paths, "probe_stop", mode=mode, status="connected", breakdown=outcome.phases_ms)
        if write:
            record(paths, config, None, new)
        return outcome, new
    unresolved = bool(transcript and transcript.unresolved and transcript.recent)
    knobs = verdict.Knobs(config["slow_floor_ms"], config["slow_factor"], config["error_after_ms"])
    judged, judgement = verdict.step(judged, verdict.ProbeResult.from_outcome(outcome, unresolved_error=unresolved),
                                     knobs)
    outcome.status, outcome.reason = judgement.status, judgement.reason
    if outcome.status == "error" and outcome.failure_phase:
        outcome.reason = failure_reason(outcome)
    transcript_error = None
    if transcript and transcript.error:
        transcript_error = {k: transcript.error.get(k) for k in ("timestamp", "code", "type", "message")}
    new = transition.apply_outcome(
        previous, outcome, now_s=time.time(), session_id=session_id, transcript_error=transcript_error,
        green_interval_s=config["green_interval_s"], red_interval_s=config["red_interval_s"],
        judged=judged, confirm=judgement.confirm and judgement.status != "error",
    )
    if debug:
        debuglog.log(paths, "probe_stop", mode=mode, status=outcome.status, http_status=outcome.http_status,
                     error_type=outcome.error_type, breakdown=new.breakdown())
    if write:
        record(paths, config, outcome, new)
    return outcome, new


def state_lock(paths: Paths) -> files.FileLock:
    """Held only around a read-modify-write of the state file, never across a probe."""
    return files.FileLock(paths.in_state("state.lock"))


def record(paths: Paths, config: Config, outcome: Outcome | None, new: MonitorState, writer: str = "probe") -> None:
    """Persist a new state (and the prompt cache), plus the outcome's history line.

    A real request the proxy recorded while the probe was in flight is kept. The history
    line carries the same time as the state's last probe.
    """
    lock = state_lock(paths)
    lock.acquire(blocking=True, timeout_s=2.0)
    try:
        current = store.read_state_for(paths, new.endpoint) if new.endpoint else None
        if current is not None and current.passive.at_ms > new.passive.at_ms:
            new.passive = current.passive
        store.write_state(paths, new)
    finally:
        lock.release()
    if outcome is not None:
        probed_ms = new.windows.last_probe_epoch_ms
        now_s = probed_ms / 1000 if probed_ms else time.time()
        store.append_history(paths, transition.history_record(outcome, now_s))
    if debuglog.enabled(config):
        debuglog.log(paths, "state_write", status=new.status, writer=writer,
                     samples=len(new.network.rolling_totals))


def failure_reason(outcome: Outcome) -> str:
    phase = outcome.stalled_phase or outcome.failure_phase
    if outcome.failure_phase == "timeout":
        return f"timed out after {outcome.timeout_ms} ms during {phase.upper()}"
    detail = f": {outcome.curl_message}" if outcome.curl_message else ""
    return f"{phase.upper()} failed{detail}"


def refresh(paths: Paths, config: Config, *, session_id=None, duration_ms=None, transcript_path=None,
            sync: bool = False, model=None, not_before_ms=None) -> RefreshResult:
    """Run the scheduler once under the lock: probe if (still) due.

    Without sync the lock is tried once and a busy lock means another process is already
    probing. With sync it waits, bounded by the probe timeout cap. An attempt is stamped
    on the lock file, which needs no free space, so a state that cannot be saved still
    gets at most one probe per RED window rather than one per render.

    Started ahead of a probe that falls due (`not_before_ms`, at most `schedule.AHEAD_S`
    ahead), it waits for that moment holding the lock, so the result is ready at the next
    redraw and the redraws in between start no second one.
    A backoff probe started without a model asks the model whose probe failed.
    """
    from ccprompt.core import schedule
    from ccprompt.sources import transcript as transcript_mod

    from ccprompt.sources import credentials

    prepare(paths)
    endpoint = credentials.endpoint(paths)
    lock = probe_lock(paths)
    failed_just_now = lock.last_write_failed(time.time(), config["red_interval_s"])
    if not lock.acquire(blocking=sync, timeout_s=TIMEOUT_CAP_MS / 1000 + 2):
        return RefreshResult(reason="another probe is running")
    try:
        if not_before_ms:
            time.sleep(min(max(not_before_ms / 1000 - time.time(), 0.0), schedule.AHEAD_S + 1.0))
        now_s = time.time()
        if not sync and failed_just_now:
            lock.mark("unsaved")
            return RefreshResult(reason="the last probe could not be saved moments ago; not probing again yet")
        previous = store.read_state_for(paths, endpoint)
        scan = None
        if transcript_path:
            scan = transcript_mod.scan(transcript_path, now_s=now_s, recent_s=config["red_recent_s"],
                                       remember_in=transcript_mod.memory_dir(paths))
        decision = schedule.decide(int(now_s * 1000), previous, config, session_id=session_id,
                                   duration_ms=duration_ms, transcript=scan)
        if debuglog.enabled(config):
            debuglog.log(paths, "refresh_decision", kind=decision.kind, reason=decision.reason)
        if decision.kind is None:
            lock.mark("idle")
            return RefreshResult(reason=decision.reason)
        if model is None and decision.kind == "RED" and previous is not None and previous.status == "error":
            model = previous.network.model
        outcome, new = probe_and_record_marked(lock, paths, config, decision.kind, session_id=session_id,
                                               transcript=scan, previous=previous, model=model)
        return RefreshResult(probed=outcome is not None, mode=decision.kind, reason=decision.reason,
                             status=new.status)
    finally:
        lock.release()


def probe_and_record_marked(lock: files.FileLock, paths: Paths, config: Config, mode: str, **kwargs):
    """`probe_and_record` under `lock`, leaving `saved` or `unsaved` on it for the next probe to see.

    When nothing can be written (a full disk, a directory where the state goes), the next
    render must not probe again at once with the user's key: it sees `unsaved` and waits.
    """
    try:
        result = probe_and_record(paths, config, mode, **kwargs)
    except (OSError, UnicodeError):
        lock.mark("unsaved")
        raise
    lock.mark("saved")
    return result


def record_passive(paths: Paths, endpoint: str, passive: Passive) -> bool:
    """Write what the proxy saw of a real request into that endpoint's state.

    Takes only the short state lock, never the probe lock, so a probe in flight never
    delays it. Returns False when it could not be written (the proxy's own log keeps it).
    """
    endpoint = redact_url(endpoint)
    try:
        prepare(paths)
    except (UnsafeStateDir, OSError):
        return False
    lock = state_lock(paths)
    if not lock.acquire(blocking=True, timeout_s=0.5):
        return False
    try:
        state = store.read_state_for(paths, endpoint)
        if state is None:
            state = MonitorState(endpoint=endpoint, source="proxy", reason="no probe yet")
        if passive.outcome in ("stall", "resumed") and state.passive.at_ms > passive.at_ms:
            return True  # a newer attempt already replaced the stalled one
        state.passive = passive
        store.write_state(paths, state)
        return True
    except OSError:
        return False
    finally:
        lock.release()
