"""The prober's orchestration: the only code that probes and writes the state.

Every writer path goes through `probe_and_record` while holding the probe lock, and
re-reads the state under it, so concurrent sessions never lose or interleave updates.
"""

from __future__ import annotations

import os
import time

from ccprompt import config as config_mod
from ccprompt import debuglog, state as state_mod


def probe_and_record(home: str, config: dict, mode: str, *, env=None, session_id=None, transcript=None,
                     timeout_override=None, write: bool = True, previous="read"):
    """Probe once, judge it, and (unless write=False) record it. Caller holds the lock.

    Returns (outcome or None, new state). The outcome is None when no probe could be made,
    for example with no credential and anonymous probing turned off.
    """
    from ccprompt import credentials, probe, verdict

    env = os.environ if env is None else env
    if previous == "read":
        previous = state_mod.read(home)
    credential = credentials.resolve(env)
    debug = debuglog.enabled(config)
    if debug:
        debuglog.log(home, "credential", source=credential.source, kind=credential.kind,
                     token_length=credential.token_length, base_url_source=credential.base_url_source)
    now_s = time.time()
    if not config.get("monitoring_enabled", True):
        new = state_mod.unknown_state(previous, reason="monitoring off", endpoint=credential.endpoint,
                                      source=credential.source, now_s=now_s, monitoring_enabled=False)
        if write:
            record(home, config, None, new)
        return None, new
    if not credential.present and not config.get("anonymous", True):
        new = state_mod.unknown_state(previous, reason="Env vars NOT Found", endpoint=credential.endpoint,
                                      source="none", now_s=now_s)
        if write:
            record(home, config, None, new)
        return None, new

    samples = state_mod.samples_for(previous, credential.endpoint)
    timeout_ms = verdict.probe_timeout_ms(mode, samples, config.get("timeout_ms"), timeout_override)
    if debug:
        debuglog.log(home, "probe_start", mode=mode, timeout_ms=timeout_ms, endpoint=credential.endpoint)
    outcome = probe.run(credential, model=config["probe_model"], timeout_ms=timeout_ms, mode=mode, env=env)
    unresolved = bool(transcript and transcript.get("unresolved") and transcript.get("recent"))
    outcome.status, outcome.reason = verdict.judge(
        outcome.http_status,
        outcome.phases_ms.get("total"),
        samples,
        error_type=outcome.error_type,
        anonymous=outcome.anonymous,
        mode=mode,
        unresolved_error=unresolved,
        degraded_factor=float(config.get("degraded_factor", 1.25)),
        error_factor=float(config.get("error_factor", 2.0)),
    )
    if outcome.status == "error" and outcome.failure_phase:
        outcome.reason = _failure_reason(outcome)
    result = outcome.to_dict()
    now_s = time.time()
    transcript_error = None
    if transcript and transcript.get("error"):
        event = transcript["error"]
        transcript_error = {k: event.get(k) for k in ("timestamp", "code", "type", "message")}
    new = state_mod.apply_outcome(
        previous, result, now_s=now_s, session_id=session_id, transcript_error=transcript_error,
        green_interval_s=int(config.get("green_interval_s", 300)),
        red_interval_s=int(config.get("red_interval_s", 10)),
    )
    if debug:
        debuglog.log(home, "probe_stop", mode=mode, status=outcome.status, http_status=outcome.http_status,
                     error_type=outcome.error_type, breakdown=new["network"]["breakdown"])
    if write:
        record(home, config, outcome, new)
    return outcome, new


def record(home: str, config: dict, outcome, new: dict, writer: str = "probe") -> None:
    """Persist a new state (and the prompt cache), plus the outcome's history line.

    The history line carries the same time as the state's last probe.
    """
    state_mod.write(home, new)
    if outcome is not None:
        probed_ms = new.get("monitoring_state", {}).get("last_probe_epoch_ms")
        now_s = probed_ms / 1000 if probed_ms else time.time()
        state_mod.append_history(home, state_mod.history_record(outcome.to_dict(), now_s))
    if debuglog.enabled(config):
        debuglog.log(home, "state_write", status=new.get("status"), writer=writer,
                     samples=len(new.get("network", {}).get("rolling_totals", [])))


def _failure_reason(outcome) -> str:
    phase = outcome.stalled_phase or outcome.failure_phase
    if outcome.failure_phase == "timeout":
        return f"timed out after {outcome.timeout_ms} ms during {phase.upper()}"
    detail = f": {outcome.curl_message}" if outcome.curl_message else ""
    return f"{phase.upper()} failed{detail}"


def refresh(*, env=None, session_id=None, duration_ms=None, transcript_path=None, sync: bool = False,
            config=None) -> dict:
    """Run the scheduler once under the lock: probe if (still) due.

    Without sync the lock is tried once and a busy lock means another process is already
    probing. With sync it waits, bounded by the probe timeout cap.
    """
    from ccprompt import schedule, transcript as transcript_mod

    env = os.environ if env is None else env
    config = config or config_mod.load(env)
    home = config_mod.ensure_home(env)
    lock = state_mod.ProbeLock(home)
    if not lock.acquire(blocking=sync, timeout_s=config_mod.TIMEOUT_CAP_MS / 1000 + 2):
        return {"probed": False, "reason": "another probe is running"}
    try:
        previous = state_mod.read(home)
        now_s = time.time()
        scan = None
        if transcript_path:
            scan = transcript_mod.scan(transcript_path, config["jsonl_tail_kb"], now_s=now_s,
                                       recent_s=int(config.get("red_recent_s", 600)))
        kind, reason = schedule.decide(int(now_s * 1000), previous, session_id=session_id,
                                       duration_ms=duration_ms, transcript=scan, config=config)
        if debuglog.enabled(config):
            debuglog.log(home, "refresh_decision", kind=kind, reason=reason)
        if kind is None:
            return {"probed": False, "reason": reason}
        outcome, new = probe_and_record(home, config, kind, env=env, session_id=session_id, transcript=scan,
                                        previous=previous)
        return {"probed": outcome is not None, "mode": kind, "reason": reason, "status": new.get("status")}
    finally:
        lock.release()
