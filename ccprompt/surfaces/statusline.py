"""The orchestrator behind `ccprompt statusline`: read stdin, decide, spawn, render, print.

This is Claude Code's statusLine command, run on every redraw, so it stays on the
standard library, never waits on the network, and always prints a line and exits 0.
"""

import sys
import time

from ccprompt.core import configfast, fastjson, files, oslite, render, store
from ccprompt.core.model import MonitorState
from ccprompt.core.paths import Paths
from ccprompt.core.text import display_width, number, sanitize

DEFAULT_CONTEXT_WINDOW = 200_000
SEGMENT_COLORS = {"model": "36", "directory": "34", "git": "35", "context": "37", "cost": "37"}


def parse_payload(raw: bytes) -> dict:
    if not raw.strip():
        return {}
    try:
        payload = fastjson.loads(raw)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _get(payload, *keys):
    value = payload
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _read_small(path: str) -> str | None:
    try:
        return files.read_regular(path, 4096).decode("utf-8", "replace").strip()
    except OSError:
        return None


def _owned(path: str) -> bool:
    """Like git's safe.directory: trust a repository only when it is the user's own."""
    try:
        return oslite.stat(path).st_uid == oslite.getuid()
    except OSError:
        return False


def git_branch(start) -> str | None:
    """The branch named in .git/HEAD above `start`, read without running git.

    A `.git` that belongs to another user (a planted /tmp/.git, say) is not trusted.
    """
    if not isinstance(start, str) or not start:
        return None
    path = oslite.abspath(start)
    for _ in range(64):
        dot_git = oslite.join(path, ".git")
        head = None
        if oslite.isdir(dot_git):
            if not _owned(dot_git):
                return None
            head = oslite.join(dot_git, "HEAD")
        elif oslite.isfile(dot_git):  # a worktree or submodule: `gitdir: <path>`
            if not _owned(dot_git):
                return None
            line = _read_small(dot_git)
            if line is None:
                return None
            if line.startswith("gitdir:"):
                head = oslite.join(path, line[len("gitdir:"):].strip(), "HEAD")
        if head:
            ref = _read_small(head)
            if ref is None:
                return None
            if ref.startswith("ref:"):
                name = ref[4:].strip()
                return name[len("refs/heads/"):] if name.startswith("refs/heads/") else name
            return ref[:7] or None  # detached HEAD: show the short hash
        parent = oslite.dirname(path)
        if parent == path:
            return None
        path = parent
    return None


def context_percent(payload: dict, scan) -> float | None:
    used = number(_get(payload, "context_window", "used_percentage"))
    if used is not None:
        return used
    tokens = scan.usage_tokens if scan else None
    if not tokens:
        return None
    size = number(_get(payload, "context_window", "context_window_size")) or DEFAULT_CONTEXT_WINDOW
    return 100.0 * tokens / size


def segments(payload: dict, state, scan, style: str, note=None, signal=None) -> dict:
    """Each segment's plain text (already sanitized), keyed by name; absent ones omitted."""
    out = {}
    model = _get(payload, "model", "display_name") or _get(payload, "model", "id") or (scan.model if scan else None)
    if isinstance(model, str) and model:
        out["model"] = sanitize(model, 40)
    directory = _get(payload, "workspace", "current_dir") or payload.get("cwd")
    if isinstance(directory, str) and directory:
        out["directory"] = sanitize(oslite.basename(directory.rstrip("/")) or directory, 60)
        branch = git_branch(directory)
        if branch:
            out["git"] = "⎇ " + sanitize(branch, 60)
    pct = context_percent(payload, scan)
    if pct is not None:
        out["context"] = f"ctx {pct:.0f}%"
    cost = number(_get(payload, "cost", "total_cost_usd"))
    if cost is not None:
        out["cost"] = f"${cost:.2f}"
    out["network"] = network_text(state, style, note, signal)
    return out


def network_text(state, style: str, note=None, signal=None) -> str:
    if note and style != "icon" and render.status_of(state, signal) == "unknown":
        return f"{render.ICONS['unknown']} {note}"
    return render.network_segment(state, style, signal)


# The order segments give way when the line is too wide; the network segment never does.
# First the extras (directory, branch, cost), then the network segment takes its compact
# style (an error keeps its cause), and only then model and context: the line still says
# which model, next to why the API fails, at 80 columns.
DROP_ORDER = ("directory", "git", "cost", "model", "context")
LATE = ("model", "context")
SHORTER = {"full": ("short", "icon"), "short": ("icon",), "icon": ()}


def fit(seg: dict, order, separator: str, width, shorter) -> list:
    """The names to show so the line fits `width` columns: the extras go first; then the
    network segment takes its next shorter style if that keeps model and context; else they
    give way, and the network segment shortens only if it must; it is never cut."""
    names = [name for name in order if name in seg]
    if not width:
        return names

    def total(kept):
        return display_width(separator.join(seg[name] for name in kept))

    def drop(candidates):
        while total(names) > width and candidates:
            names.remove(candidates.pop(0))

    shorter = list(shorter)
    drop([n for n in DROP_ORDER if n in names and n not in LATE]
         + [n for n in names if n not in DROP_ORDER and n != "network"])
    if "network" in seg and total(names) > width and shorter:
        # The compact style is taken here only if it keeps model and context on the line.
        full, seg["network"] = seg["network"], shorter[0]
        if total(names) <= width:
            return names
        seg["network"] = full
    drop([n for n in LATE if n in names])
    while "network" in seg and total(names) > width and shorter:
        seg["network"] = shorter.pop(0)
    return names


def compose(seg: dict, names, status: str, separator: str, color: bool, levels=None) -> str:
    parts = []
    for name in names:
        code = render.COLORS.get(status) if name == "network" else (levels or {}).get(name) or SEGMENT_COLORS.get(name)
        parts.append(f"\x1b[{code}m{seg[name]}\x1b[0m" if color and code else seg[name])
    return separator.join(parts)


def session_segments(seg: dict, size, summary, config, now_s: float, template: bool,
                     context_pct=None) -> dict:
    """Add the `cache` and `session` segments when the layout (or a format) asks for them, and
    the turns-to-compact estimate to `context` once the context is past 80% of the window.

    `summary` is the transcript reader's `Reading` of the session (the same reading the
    network segment used). `size` is the context window Claude Code reports. Returns their
    colours by level.
    """
    wanted = {"cache", "session"} & set(config["statusline.segments"])
    near = "context" in seg and context_pct is not None and context_pct >= 80
    if summary is None or not (wanted or template or near):
        return {}
    from ccprompt.core import session_rules

    values = session_rules.segments(summary.summary(), now_s, size=size)
    levels = {}
    for name in ("cache", "session"):
        text, level = values[name]
        if text:
            seg[name] = sanitize(text, 60)
            levels[name] = session_rules.SEGMENT_COLORS.get(level)
    text, level = values["context"]
    if near and " · " in text:  # keep Claude Code's own percentage, add the estimate
        seg["context"] += " " + sanitize(text[text.index(" · "):], 40)
        levels["context"] = session_rules.SEGMENT_COLORS.get(level)
    return levels


def usable_width(env, paths) -> int | None:
    """The columns Claude Code shows of a row: $COLUMNS less 4, less the statusLine's padding."""
    columns = _int_env(env.get("COLUMNS"))
    if not columns:
        return None
    return max(columns - 4 - _padding(paths), 8)


MAX_PADDING = 40


def _padding(paths) -> int:
    try:
        settings = fastjson.loads(files.read_regular(paths.claude_settings, 1 << 20))
        padding = settings.get("statusLine", {}).get("padding", 0)
    except (OSError, ValueError, AttributeError, RecursionError):
        return 0
    return padding if isinstance(padding, int) and not isinstance(padding, bool) and 0 <= padding < MAX_PADDING else 0


def session_endpoint(paths: Paths) -> str:
    """The endpoint this session's state is kept under.

    Claude Code hands the status line its own environment, settings included, and marks it
    with CLAUDECODE=1: there ANTHROPIC_BASE_URL, or the API's own URL without it, is what
    Claude Code talks to, the same answer the probe's credential lookup gives (it reads no
    further either), and nothing need be read. Elsewhere the lookup decides (rc files, settings).
    """
    from ccprompt.core.paths import base_endpoint, inside_claude_code

    if paths.env.get("ANTHROPIC_BASE_URL") or inside_claude_code(paths.env):
        return base_endpoint(paths.env)
    from ccprompt.sources import credentials

    return credentials.endpoint(paths)


def session_model(payload: dict) -> str | None:
    """The session's own model id for a probe, without a context-size suffix like `[1m]`."""
    model = _get(payload, "model", "id")
    if not isinstance(model, str) or not model.strip():
        return None
    model = model.strip().split("[", 1)[0]
    return model if model and all(ch.isalnum() or ch in "-._:@" for ch in model) else None


def run(argv: list, stdin_fd: int = 0, out=None, env=None) -> int:
    out = out or sys.stdout
    sync = "--sync" in argv
    # `--segment NAME`: only that segment, for another status line's custom-command widget.
    segment = argv[argv.index("--segment") + 1] if "--segment" in argv[:-1] else None
    paths = Paths(env)
    config = configfast.load(paths)  # the checked values, without the rules when nothing changed
    debug = bool(config["debug"])
    if debug:  # off, logging costs nothing: not even its import
        from ccprompt.core import debuglog
    raw = files.read_pipe(stdin_fd)
    payload = parse_payload(raw)
    now_s = time.time()
    if debug:
        debuglog.log(paths, "stdin", bytes=len(raw), parsed=bool(payload), keys=sorted(payload)[:30])
        if config.problems:
            debuglog.log(paths, "config_problem", problem=config.first_problem())

    transcript_path = payload.get("transcript_path") if isinstance(payload.get("transcript_path"), str) else None
    unsafe = files.unsafe_dir(paths.state_dir)
    scan = summary = None
    if transcript_path:
        from ccprompt.sources import transcript

        # One reading serves the network segment, the session segments and the shell's variables.
        stats = transcript.Stats()
        summary = transcript.read(transcript_path, None if unsafe else paths.in_state(transcript.MEMORY_DIR), stats)
        scan = transcript.to_scan(summary, now_s, config["red_recent_s"], stats)
        if debug:
            debuglog.log(paths, "transcript", read=scan.read, how=stats.how, bytes=stats.bytes, lines=scan.lines,
                         skipped=scan.skipped, unresolved=scan.unresolved, recent=scan.recent,
                         attempts=scan.attempts, error_code=(scan.error or {}).get("code"))

    endpoint = session_endpoint(paths)
    state = None if unsafe else store.read_state_for(paths, endpoint)
    session_id = payload.get("session_id") if isinstance(payload.get("session_id"), str) else None
    if not unsafe and session_id:  # the window, model, cost and limits only stdin has, for `sessions`
        from ccprompt.core import seen
        seen.remember(paths, session_id, payload)
    duration = number(_get(payload, "cost", "total_duration_ms"))
    note = None
    worker = False  # a refresh is running or on its way (it reads the status page too)
    if unsafe:
        note = "state dir unsafe"
        if debug:
            debuglog.log(paths, "decision", kind=None, reason=unsafe)
    elif sync or config["sync"]:
        from ccprompt.sources import recorder

        result = recorder.refresh(paths, config, session_id=session_id, duration_ms=duration,
                                  transcript_path=transcript_path, sync=True)
        if debug:
            debuglog.log(paths, "decision", sync=True, **result.to_dict())
        state = store.read_state_for(paths, endpoint)
    else:
        from ccprompt.core import schedule

        now_ms = int(now_s * 1000)
        decision = schedule.decide(now_ms, state, config, session_id=session_id,
                                   duration_ms=duration, transcript=scan)
        spawned = False
        worker = bool(decision.kind)
        reason = decision.reason
        upcoming = None if decision.kind else schedule.next_due(now_ms, state, config, transcript=scan)
        if upcoming and upcoming[0] - now_ms <= schedule.AHEAD_S * 1000 and state is not None:
            # Due before the next redraw: start it now, to wait for the moment, so the
            # result is on show at that redraw rather than the one after.
            from ccprompt.sources import spawn

            if files.FileLock(paths.lock_file).is_free():
                model = session_model(payload) if upcoming[1] == "RED" else None
                spawned = spawn.spawn(spawn.refresh_argv(session_id, duration, transcript_path, model,
                                                         not_before_ms=upcoming[0])) > 0
                worker = worker or spawned  # it reads the status page too
                reason += f"; {upcoming[1]} due in {(upcoming[0] - now_ms) / 1000:.1f}s, started ahead"
        if decision.kind:
            from ccprompt.sources import spawn

            lock = files.FileLock(paths.lock_file)
            files.private_dir(paths.state_dir)
            if lock.is_free():
                model = session_model(payload) if decision.kind == "RED" else None
                spawned = spawn.spawn(spawn.refresh_argv(session_id, duration, transcript_path, model)) > 0
            else:
                reason += "; a probe is already running"
            # Say "probing…" only where there is nothing better: a reason why no probe can be
            # made (no credential, a refused key) stays on show while the retry runs.
            note = None if state is not None and state.status == "unknown" and state.reason else "probing…"
            from ccprompt.surfaces.saveproblem import save_problem

            problem = save_problem(paths, state, lock, endpoint)
            if problem:
                note = f"cannot save state: {problem}" if problem != "cannot save state" else problem
        if debug:
            debuglog.log(paths, "decision", kind=decision.kind, reason=reason, spawned=spawned)

    if not config["monitoring_enabled"]:
        state = MonitorState(monitoring_enabled=False)
    from ccprompt.core.signal import assess

    signal = assess(state, scan, now_s, config["waiting_s"])
    if "rate_limits" in payload:  # subscribers: a used-up limit is the cause, not the API
        from ccprompt.surfaces.payload_segments import limit_signal
        signal = limit_signal(payload, signal, state, scan, now_s, config["waiting_s"])
    if note and state is not None and signal.status != "unknown":
        note = None  # a probe is on its way, but there is a result to show meanwhile
    style = config["statusline.style"]
    seg = segments(payload, state, scan, style, note, signal)
    template = config["statusline.format"]
    percent = context_percent(payload, scan)
    window = number(_get(payload, "context_window", "context_window_size"))
    levels = session_segments(seg, window, summary, config, now_s, bool(template), percent)
    if template or segment or {"incident", "limits", "cache"} & set(config["statusline.segments"]) \
            or signal.status in ("error", "degraded"):  # nothing more is read for a line without them
        from ccprompt.surfaces import payload_segments

        payload_segments.extras(seg, levels, payload, paths, config, state, signal, segment, template,
                                lambda: network_text(state, "short", note, signal), now_s,
                                spawn_page=not (unsafe or sync or config["sync"] or worker))
    if summary is not None and not unsafe and oslite.isdir(paths.init_dir):  # for the shell hooks (ccprompt init)
        from ccprompt.surfaces import sessionfile

        sessionfile.update(paths, transcript_path, window, summary, percent, payload)
    if segment:
        text = compose(seg, [segment] if segment in seg else [], render.status_of(state, signal), "",
                       render.use_color(paths.env))
    elif template:
        try:
            from ccprompt.surfaces.template import format_template

            text = format_template(template, state, seg)
        except Exception as exc:  # a broken user template still gets a line
            text = f"{seg['network']} (format error: {sanitize(exc, 60)})"
    else:
        separator = config["statusline.separator"]
        names = [name for name in config["statusline.segments"] if name in seg]
        columns = _int_env(paths.env.get("COLUMNS"))
        # UTF-8 bytes bound the display width from above (no character is wider than its
        # bytes): a line well inside the row needs neither unicodedata nor settings.json.
        if columns and len(separator.join(seg[n] for n in names).encode()) > columns - 4 - MAX_PADDING:
            shorter = [network_text(state, s, note, signal) for s in SHORTER[style]]
            names = fit(seg, names, separator, usable_width(paths.env, paths), shorter)
        text = compose(seg, names, render.status_of(state, signal), separator, render.use_color(paths.env), levels)
    if debug:
        debuglog.log(paths, "render", chars=len(text), status=signal.status, source=signal.source,
                     marker=signal.marker)
    out.write(text + "\n")
    out.flush()
    return 0


def _int_env(value):
    try:
        return int(value) if value else None
    except ValueError:
        return None


def main(argv: list) -> int:
    """Entry for the hot path: whatever happens, print a line and exit 0."""
    try:
        return run(argv)
    except Exception as exc:  # the status line must never show a traceback
        try:
            sys.stdout.write(f"{render.ICONS['unknown']} ccprompt: {sanitize(type(exc).__name__, 40)}\n")
            sys.stdout.flush()
        except Exception:
            pass
        return 0
