"""The monitoring state on disk: tolerant reads, locked atomic writes, rolling samples.

Only the prober writes. It holds an exclusive flock on `probe.lock` for the whole
probe-and-write and re-reads the state under it. Readers never lock: they see either the
old file or the new one, because every write is a same-directory rename.
"""

from __future__ import annotations

import os
import time

from ccprompt import fastjson

SCHEMA = 1
STATE_FILE = "monitoring.json"
LOCK_FILE = "probe.lock"
HISTORY_FILE = "history.jsonl"
HISTORY_LIMIT_BYTES = 512 * 1024
RECENT_COLD_LIMIT = 50


def state_path(home: str) -> str:
    return os.path.join(home, STATE_FILE)


def read(home: str):
    """The state as a dict, or None when it is missing, unreadable, corrupt or foreign."""
    try:
        with open(state_path(home), "rb") as handle:
            raw = handle.read(1 << 20)
        state = fastjson.loads(raw)
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("schema") != SCHEMA:
        return None
    for key in ("network", "monitoring_state", "api_config"):
        if not isinstance(state.get(key), dict):
            state[key] = {}
    return state


def atomic_write(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write a file so readers see the old or the new content, never a mix.

    A temp file in the same directory, written in full and fsynced, then renamed over the
    target; on any failure the temp file is removed and the target is left as it was.
    """
    directory = os.path.dirname(path) or "."
    temp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def write(home: str, state: dict) -> None:
    """Persist the state, then the pre-rendered prompt cache the shells read."""
    import json

    atomic_write(state_path(home), json.dumps(state, indent=1, ensure_ascii=False).encode())
    from ccprompt import promptcache

    promptcache.write(home, state)


class ProbeLock:
    """The cross-process probe lock (flock on probe.lock)."""

    def __init__(self, home: str):
        self.path = os.path.join(home, LOCK_FILE)
        self.fd = None

    def acquire(self, blocking: bool = True, timeout_s: float | None = None) -> bool:
        import fcntl

        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if not blocking or (deadline is not None and time.monotonic() >= deadline):
                    os.close(self.fd)
                    self.fd = None
                    return False
                time.sleep(0.02)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = None


def lock_is_free(home: str) -> bool:
    """A cheap check, without keeping the lock, that no probe is in flight right now."""
    lock = ProbeLock(home)
    try:
        if lock.acquire(blocking=False):
            lock.release()
            return True
        return False
    except OSError:
        return True


def iso_local(epoch_s: float) -> str:
    """Local ISO-8601 time with milliseconds and the UTC offset."""
    from datetime import datetime

    return datetime.fromtimestamp(epoch_s).astimezone().isoformat(timespec="milliseconds")


def samples_for(state, endpoint: str) -> list:
    """Rolling samples, but only when they were measured against this endpoint."""
    if not isinstance(state, dict):
        return []
    if state.get("api_config", {}).get("endpoint") != endpoint:
        return []
    totals = state.get("network", {}).get("rolling_totals")
    if not isinstance(totals, list):
        return []
    return [t for t in totals if isinstance(t, (int, float)) and not isinstance(t, bool)]


def _round(value):
    return None if value is None else round(value, 1)


def apply_outcome(previous, outcome: dict, *, now_s: float, session_id=None, transcript_error=None,
                  monitoring_enabled: bool = True, green_interval_s: int = 300, red_interval_s: int = 10) -> dict:
    """The next state after a judged probe outcome (pure: the caller supplies the clock).

    `outcome` is `Outcome.to_dict()` with `status` and `reason` already set by the verdict.
    """
    from ccprompt.render import breakdown
    from ccprompt.verdict import MAX_SAMPLES, answered, nearest_rank

    previous = previous if isinstance(previous, dict) else {}
    endpoint = outcome["endpoint"]
    samples = samples_for(previous, endpoint)
    mode = outcome.get("mode", "MANUAL")
    total = outcome["phases_ms"].get("total")
    baseline = mode in ("GREEN", "COLD")
    if baseline and total is not None and answered(
        outcome["http_status"], outcome.get("error_type"), outcome["credential_source"] == "none"
    ):
        samples = (samples + [round(total)])[-MAX_SAMPLES:]
    old_ms = previous.get("monitoring_state", {}) if previous.get("api_config", {}).get("endpoint") == endpoint else {}
    now_ms = int(now_s * 1000)
    cold = [s for s in old_ms.get("recent_cold_sessions", []) if isinstance(s, str)]
    if mode == "COLD" and session_id and session_id not in cold:
        cold = (cold + [session_id])[-RECENT_COLD_LIMIT:]
    network = {
        "latency_ms": None if total is None else round(total),
        "breakdown": "",
        "phases_ms": {k: _round(v) for k, v in outcome["phases_ms"].items()},
        "reused": outcome.get("reused") or {},
        "last_http_status": outcome["http_status"],
        "http_version": outcome.get("http_version"),
        "error_type": None if outcome.get("error_type") == "success" else outcome.get("error_type"),
        "error_message": outcome.get("error_message"),
        "failure_phase": outcome.get("failure_phase"),
        "timeout_ms": outcome.get("timeout_ms"),
        "remote_ip": outcome.get("remote_ip"),
        "request_id": outcome.get("request_id"),
        "retry_after": outcome.get("retry_after"),
        "ratelimit": outcome.get("ratelimit") or {},
        "auth": outcome.get("auth"),
        "rolling_totals": samples,
        "p80_latency_ms": nearest_rank(samples, 0.80) or 0,
        "p95_latency_ms": nearest_rank(samples, 0.95) or 0,
    }
    network["breakdown"] = breakdown(network)
    monitoring_state = {
        "last_probe_mode": mode,
        "last_green_window_id": old_ms.get("last_green_window_id", 0),
        "last_red_window_id": old_ms.get("last_red_window_id", 0),
        "recent_cold_sessions": cold,
        "last_probe_at": iso_local(now_s),
        "last_probe_epoch_ms": now_ms,
        "last_baseline_epoch_ms": old_ms.get("last_baseline_epoch_ms", 0),
    }
    if mode in ("GREEN", "COLD"):
        monitoring_state["last_baseline_epoch_ms"] = now_ms
        monitoring_state["last_green_window_id"] = now_ms // (green_interval_s * 1000)
    if mode == "RED":
        monitoring_state["last_red_window_id"] = now_ms // (red_interval_s * 1000)
    state = {
        "schema": SCHEMA,
        "status": outcome["status"],
        "reason": outcome.get("reason", ""),
        "monitoring_enabled": monitoring_enabled,
        "api_config": {"endpoint": endpoint, "source": outcome["credential_source"]},
        "network": network,
        "monitoring_state": monitoring_state,
        "last_jsonl_error_event": transcript_error if transcript_error else previous.get("last_jsonl_error_event"),
        "probe_counts": _counted(previous.get("probe_counts"), outcome["status"]),
        "timestamp": iso_local(now_s),
    }
    return state


def _counted(counts, status: str) -> dict:
    """Recorded probes by status since the state was created.

    Kept in the state, not derived from the history, because the history rotates and
    Prometheus counters must never go down.
    """
    if not isinstance(counts, dict):
        counts = {}
    counts = {k: v for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)}
    counts[status] = counts.get(status, 0) + 1
    return counts


def unknown_state(previous, *, reason: str, endpoint: str, source: str, now_s: float,
                  monitoring_enabled: bool = True) -> dict:
    """A state that says why there is no verdict (monitoring off, no credential, ...)."""
    previous = previous if isinstance(previous, dict) else {}
    state = dict(previous)
    state.update(
        schema=SCHEMA,
        status="unknown",
        reason=reason,
        monitoring_enabled=monitoring_enabled,
        api_config={"endpoint": endpoint, "source": source},
        timestamp=iso_local(now_s),
    )
    state.setdefault("network", {})
    ms = dict(previous.get("monitoring_state") or {})
    ms["last_probe_at"] = iso_local(now_s)
    ms["last_probe_epoch_ms"] = int(now_s * 1000)
    state["monitoring_state"] = ms
    return state


def append_jsonl(path: str, record: dict, limit_bytes: int) -> None:
    """Append one JSON line; first move the file to `<path>.1` if the line would pass the limit.

    So the file and its one rotated predecessor never hold more than twice the limit.
    """
    import json

    line = (json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str) + "\n").encode()
    try:
        if os.path.getsize(path) + len(line) > limit_bytes:
            os.replace(path, path + ".1")
    except OSError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def append_history(home: str, record: dict, limit_bytes: int = HISTORY_LIMIT_BYTES) -> None:
    """Append one outcome to history.jsonl, rotating it to history.jsonl.1 at the limit."""
    append_jsonl(os.path.join(home, HISTORY_FILE), record, limit_bytes)


def history_record(outcome: dict, now_s: float) -> dict:
    """What the history keeps of an outcome: numbers and verdicts, no content, no secrets."""
    return {
        "ts": iso_local(now_s),
        "epoch_ms": int(now_s * 1000),
        "mode": outcome.get("mode"),
        "status": outcome.get("status"),
        "http_status": outcome.get("http_status"),
        "error_type": outcome.get("error_type"),
        "failure_phase": outcome.get("failure_phase"),
        "phases_ms": {k: _round(v) for k, v in outcome.get("phases_ms", {}).items()},
        "endpoint": outcome.get("endpoint"),
    }
