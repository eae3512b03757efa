"""What Claude Code hands the status line now, on the line: the `limits` and `cache` segments, a limit as the cause.

- `rate_limits` (subscribers, after their first reply): `5h 42% · 7d 81%`, coloured by pace
  (`core.limits`); when a used-up window is why a turn waits or why the API said 429, the
  network segment names it: `🔴 5h limit reached · resets 15:00`.
- `prompt_cache` (2.1.332): `cache 3m12s` counting down to `expires_at`, or `cache cold`,
  without reading the transcript.

Nothing is computed for a segment the layout does not show.
"""

from ccprompt.core import files
from ccprompt.core.signal import Signal, waiting_too_long
from ccprompt.core.text import sanitize


def limit_signal(payload: dict, signal, state, scan, now_s: float, waiting_s: float):
    """The signal, or a red one naming a used-up limit when that explains a 429 or a waiting turn."""
    raw = payload.get("rate_limits")
    if not isinstance(raw, dict):
        return signal
    from ccprompt.core import limits, seen

    hit = limits.reached(seen.limits_of(raw), now_s)
    if hit is None:
        return signal
    refused = (signal.cause or "").startswith("429") or (
        signal.source == "probe" and state is not None and state.network.last_http_status == 429)
    error = scan.error if scan is not None else None
    if error and scan.unresolved and (error.get("code") == 429 or "rate_limit" in str(error.get("type") or "")):
        refused = True
    if refused or waiting_too_long(scan, now_s, waiting_s):
        return Signal(status="error", cause=limits.cause(hit[0], hit[1], now_s), source="limits")
    return signal


def extras(seg: dict, levels: dict, payload: dict, paths, config, state, signal, segment, template, short_text,
           now_s: float, spawn_page: bool) -> None:
    """The status page's part (`surfaces.incident`) and the payload's segments, for one render.

    Fills `seg` and `levels`; Claude Code's own `prompt_cache` replaces the transcript's cache.
    """
    if config["statuspage_url"] and config["monitoring_enabled"] and not files.unsafe_dir(paths.state_dir):
        from ccprompt.surfaces.incident import page_segments

        wanted = "incident" in config["statusline.segments"] or segment == "incident" or bool(template)
        levels.update(page_segments(seg, paths, config, state, signal, config["statusline.style"], short_text,
                                    now_s, wanted, spawn_page))
    more, cache_done = add(seg, payload, config, segment, bool(template), now_s)
    if cache_done and "cache" not in more:  # Claude Code says there is nothing to show
        seg.pop("cache", None)
        levels.pop("cache", None)
    levels.update(more)


def add(seg: dict, payload: dict, config, segment, template: bool, now_s: float) -> tuple:
    """Add `limits` and `cache` when the layout, `--segment` or a format asks for them. Returns (their
    colours, whether the cache came from the payload, so the transcript need not be read for it)."""
    names = set(config["statusline.segments"]) | ({segment} if segment else set())
    if template:
        names |= {"limits", "cache"}
    levels = {}
    cache_done = False
    if "limits" in names and isinstance(payload.get("rate_limits"), dict):
        from ccprompt.core import limits, seen

        text, level = limits.segment(seen.limits_of(payload["rate_limits"]), now_s)
        if text:
            seg["limits"] = sanitize(text, 40)
            levels["limits"] = limits.COLORS.get(level)
    if "cache" in names and isinstance(payload.get("prompt_cache"), dict):
        from ccprompt.core import limits, seen

        text, level = seen.cache_segment(seen.cache_of(payload["prompt_cache"]), now_s)
        cache_done = True
        if text:
            seg["cache"] = text
            levels["cache"] = limits.COLORS.get(level)
    return levels, cache_done


def shell_cache_expiry(payload: dict, now_s: float):
    """For the shell's `CCPROMPT_CACHE`: Claude Code's own expiry (epoch s), 0 when it says the
    cache is cold, or None without `prompt_cache` (then the transcript is read, as before)."""
    if not isinstance(payload.get("prompt_cache"), dict):
        return None
    from ccprompt.core import seen

    cache = seen.cache_of(payload["prompt_cache"])
    expires = cache["expires_at"]
    if cache["warm"] and expires is not None:
        return expires
    if expires is not None and expires < now_s:
        return expires  # it was warm, and is gone: the hooks say `cache expired`
    return 0


def as_cause(paths, transcript_path, signal, state, scan, now_s: float, waiting_s: float):
    """`explain`'s signal, with a used-up limit as the cause exactly where the status line puts it."""
    from ccprompt.core.limits import told

    known = told(paths, transcript_path)
    if not known:
        return signal
    raw = {name: {"used_percentage": w["used"], "resets_at": w.get("resets_at")} for name, w in known.items()}
    return limit_signal({"rate_limits": raw}, signal, state, scan, now_s, waiting_s)
