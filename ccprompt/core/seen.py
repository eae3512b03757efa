"""What Claude Code handed the status line, kept per session for the commands that read only transcripts.

The status line's stdin carries facts no transcript holds: the context window's size, the
model id, Claude Code's own cost figure, subscribers' rate limits (`rate_limits`, after
their first reply) and the prompt cache (2.1.332). `remember` keeps a small record per
session in `seen/<session id>.json`, written only when it changed (about once a turn);
`sessions`, `postmortem` and the fleet metrics read them back with `recall`.

Standard library only and no `json` import: this runs on every redraw. Every value is a
checked number or a short string of safe characters, so the record is written by hand.
"""

from ccprompt.core import fastjson, files, oslite, statedir
from ccprompt.core.text import iso_epoch, number

DIR = "seen"
LIMIT = 2048
KEEP_S = 30 * 86400  # `recall` forgets a session's record a month after its last write
WINDOWS = {"five_hour": ("5h", 5 * 3600), "seven_day": ("7d", 7 * 86400)}
_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._[]:@")


def _get(payload, *keys):
    for key in keys:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(key)
    return payload


def _model(value):
    if not isinstance(value, str) or not value or len(value) > 100 or not set(value) <= _SAFE:
        return None
    return value


def limits_of(raw) -> dict:
    """`{"five_hour": {"used": 42.0, "resets_at": 1796000000}, …}` from stdin's `rate_limits`, checked."""
    out = {}
    if not isinstance(raw, dict):
        return out
    for name in WINDOWS:
        window = raw.get(name)
        if not isinstance(window, dict):
            continue
        used = number(window.get("used_percentage"))
        resets = number(window.get("resets_at"))
        if used is None or not 0 <= used <= 1000:
            continue
        entry = {"used": round(float(used), 2)}
        if resets is not None and 10**9 < resets < 10**11:
            entry["resets_at"] = int(resets)
        out[name] = entry
    return out


def expiry_of(value):
    """Epoch seconds from `prompt_cache.expires_at`; else None.

    2.1.332 sends epoch seconds (its own milliseconds divided by 1000, rounded up); epoch
    milliseconds and ISO 8601 text are taken too, should a later release change its mind.
    """
    value_n = number(value)
    if value_n is not None:
        if value_n > 10**12:
            value_n /= 1000
        return int(value_n) if 10**9 < value_n < 10**11 else None
    if isinstance(value, str) and 19 <= len(value) <= 40:
        moment = iso_epoch(value)
        return None if moment is None else int(moment)
    return None


def cache_of(raw) -> dict | None:
    """`{"warm": bool, "observed": bool, "expires_at": epoch s or None, "ttl": "5m"}` from `prompt_cache`."""
    if not isinstance(raw, dict):
        return None
    ttl = raw.get("ttl") if raw.get("ttl") in ("5m", "1h") else None
    requests = number(raw.get("requests"))
    return {"warm": raw.get("warm") is True, "observed": raw.get("caching_observed") is True,
            "expires_at": expiry_of(raw.get("expires_at")), "ttl": ttl,
            "requests": int(requests) if requests is not None and 0 <= requests < 10**9 else 0}


def record_of(payload: dict) -> dict:
    """The facts worth keeping from one payload (checked; absent ones left out)."""
    out = {}
    size = number(_get(payload, "context_window", "context_window_size"))
    if size is not None and 1000 <= size <= 10**8:
        out["window"] = int(size)
    model = _model(_get(payload, "model", "id"))
    if model:
        out["model"] = model
    cost = number(_get(payload, "cost", "total_cost_usd"))
    if cost is not None and 0 <= cost < 10**6:
        out["cost_usd"] = round(float(cost), 6)
    limits = limits_of(payload.get("rate_limits"))
    if limits:
        out["limits"] = limits
        out["headroom"] = round(max(0.0, 1 - max(w["used"] for w in limits.values()) / 100), 3)
    return out


def _encode(value) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f'"{k}":{_encode(v)}' for k, v in value.items()) + "}"
    if isinstance(value, str):
        return f'"{value}"'  # model ids only: `_model` allowed no quote or backslash
    return repr(value)


def _path(paths, session_id: str) -> str:
    safe = "".join(ch for ch in session_id if ch.isalnum() or ch in "-_")[:80]
    return paths.in_state(oslite.join(DIR, f"{safe}.json"))


def remember(paths, session_id, payload: dict) -> None:
    """Keep this session's record; a write only when it changed. Never raises."""
    if not isinstance(session_id, str) or not session_id.strip("-_") or not isinstance(payload, dict):
        return
    record = record_of(payload)
    if not record:
        return
    data = _encode(record).encode()
    path = _path(paths, session_id)
    try:
        if statedir.read_state(paths.state_dir, path, LIMIT) == data:
            return
    except OSError:
        pass
    try:
        files.private_dir(oslite.dirname(path))
        files.atomic_write(path, data, durable=False)  # the next redraw writes it again
    except OSError:
        pass


def recall(paths, now_s=None) -> dict:
    """session id -> its record, for every session the status line has drawn (records checked again).

    Records not written for KEEP_S are removed here, off the render path.
    """
    import time

    directory = paths.in_state(DIR)
    now_s = time.time() if now_s is None else now_s
    out = {}
    try:
        names = oslite.listdir(directory)
    except OSError:
        return out
    for name in names:
        if not name.endswith(".json"):
            continue
        path = oslite.join(directory, name)
        try:
            if now_s - oslite.stat(path).st_mtime > KEEP_S:
                oslite.unlink(path)
                continue
        except OSError:
            continue
        try:
            raw = fastjson.loads(statedir.read_state(paths.state_dir, oslite.join(directory, name), LIMIT))
        except (OSError, ValueError, RecursionError):
            continue
        if not isinstance(raw, dict):
            continue
        record = record_of({"context_window": {"context_window_size": raw.get("window")},
                            "model": {"id": raw.get("model")}, "cost": {"total_cost_usd": raw.get("cost_usd")},
                            "rate_limits": {k: {"used_percentage": v.get("used"), "resets_at": v.get("resets_at")}
                                            for k, v in (raw.get("limits") or {}).items() if isinstance(v, dict)}
                            if isinstance(raw.get("limits"), dict) else None})
        if record:
            out[name[:-5]] = record
    return out


def cache_segment(cache: dict, now_s: float) -> tuple:
    """(`cache 3m12s`, level) counting down to `prompt_cache.expires_at`, or (`cache cold`, level).

    Claude Code's own view of its prompt cache (2.1.332): no transcript needs reading.
    Before the session's first request there is nothing to say.
    """
    from ccprompt.core.text import fmt_s

    expires = cache.get("expires_at")
    if cache.get("warm") and expires is not None:
        left = expires - now_s
        if left > 0:
            return f"cache {fmt_s(left)}", "warn" if left < 60 else "ok"
    if cache.get("warm") or cache.get("observed") or expires is not None or cache.get("requests"):
        return "cache cold", "bad"
    return "", ""


def reported_cost_of(entry: dict, previous=None):
    """`totalCostUSD` of a transcript's `cost-state` line (2.1.332), when it is a sane number; else `previous`."""
    value = number(entry.get("totalCostUSD"))
    if value is None or not 0 <= value < 10**6:
        return previous
    return round(float(value), 6)
