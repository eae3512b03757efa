"""Doctor's checks of this machine: ccprompt's own files, Claude Code's settings, the shell, the clock.

They are declared after the network checks of `checks`, whose registry they join, so
the report runs from the install, over the network, to the machine.
"""

from __future__ import annotations

import os
import time

from ccprompt.core.text import sanitize as _clean
from ccprompt.ops.doctor import fixes
from ccprompt.ops.doctor.checks import SKEW_FAIL_S, SKEW_WARN_S, registry
from ccprompt.ops.doctor.registry import fail, ok, warn

check = registry.check
RC_MARKERS = ("# >>> ccprompt >>>", "ccprompt init")
RC_READ_LIMIT = 1 << 20


@check("state_dir", "state dir")
def state_dir(ctx):
    home = ctx.paths.state_dir
    try:
        info = os.stat(home)
    except FileNotFoundError:
        return warn(f"{home} does not exist yet", fixes.STATE_DIR_MISSING, {"path": home})
    mode = info.st_mode & 0o777
    data = {"path": home, "mode": f"{mode:04o}", "owner_uid": info.st_uid}
    if info.st_uid != os.getuid():
        return fail(f"{home} belongs to uid {info.st_uid}, not to you", fixes.state_dir_owner(home), data)
    if mode & 0o022:
        return fail(f"{home} has mode {mode:04o}: others can write ccprompt's state and prompt cache",
                    fixes.state_dir_mode(home), data)
    if mode & 0o077:
        return warn(f"{home} has mode {mode:04o}: others can read it", fixes.state_dir_mode(home), data)
    loose = []
    for name in sorted(os.listdir(home)):
        path = os.path.join(home, name)
        try:
            if os.path.isfile(path) and os.stat(path).st_mode & 0o077:
                loose.append(name)
        except OSError:
            continue
    if loose:
        verb = "is" if len(loose) == 1 else "are"
        return warn(f"{home} is 0700, but {', '.join(loose[:3])} {verb} readable by others",
                    fixes.state_files_mode(home), data)
    return ok(f"{home}, mode 0700", data)


@check("state", "state")
def state_freshness(ctx):
    from ccprompt.core import store
    from ccprompt.core.render import ICONS

    current = store.read_state(ctx.paths)
    if current is None:
        if os.path.exists(ctx.paths.state_file):
            return warn("monitoring.json is unreadable or from another version", fixes.STATE_REPLACE)
        return warn("no probe recorded yet", fixes.STATE_RUN_PROBE)
    last_ms = current.windows.last_probe_epoch_ms
    status = current.status
    if not last_ms:
        return warn(f"{status}, but no probe time recorded", "run `ccprompt probe`")
    age = time.time() - last_ms / 1000
    data = {"status": status, "age_s": round(age, 1), "last_probe_at": current.windows.last_probe_at}
    text = f"{ICONS[status]} {status}, last probe {_age(age)} ago"
    if age > 2 * ctx.config["green_interval_s"]:
        return warn(text + " (the status line and prompt refresh it only while shown)", fixes.STATE_STALE, data)
    return ok(text, data)


@check("watch", "watch")
def watcher(ctx):
    from ccprompt.ops.watch.loop import running_pid

    pid = running_pid(ctx.paths)
    if pid is None:
        return ok("not running (optional: `ccprompt watch` keeps the state fresh)", {"running": False})
    return ok(f"running (pid {pid or 'unknown'})", {"running": True, "pid": pid})


@check("statusline", "status line")
def statusline(ctx):
    import json

    from ccprompt.core import files
    from ccprompt.core.paths import executable_words, imports_from_cwd
    from ccprompt.surfaces import claude_settings as settings

    path = ctx.paths.claude_settings
    try:
        raw = files.read_regular(path, 4 << 20)
    except FileNotFoundError:
        return warn(f"not installed ({path} does not exist)", fixes.STATUSLINE_INSTALL, {"path": path})
    except OSError as exc:
        return fail(f"cannot read {path}: {_clean(exc.strerror or exc, 120)}", f"check the permissions of {path}",
                    {"path": path})
    try:
        loaded = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        return fail(f"{path} is not valid JSON ({_clean(exc, 80)}), so Claude Code ignores it", f"repair {path}",
                    {"path": path})
    entry = loaded.get("statusLine") if isinstance(loaded, dict) else None
    command = entry.get("command") if isinstance(entry, dict) else None
    data = {"path": path, "command": command}
    if not entry:
        return warn(f"not installed in {path}", fixes.STATUSLINE_INSTALL, data)
    if not settings.is_ours(entry):
        return warn(f"runs something else: {_clean(command, 100)}",
                    fixes.STATUSLINE_INSTALL + "; or call `ccprompt statusline` from your own script", data)
    mine_words = executable_words(env=ctx.env)
    program = _first_word(command)
    try:
        import shlex

        if imports_from_cwd(shlex.split(str(command))):
            return warn(f"runs `python -m ccprompt`, which imports a ccprompt/ directory of the project Claude "
                        f"Code runs it in: {_clean(command, 100)}", fixes.STATUSLINE_INSTALL, data)
    except ValueError:
        pass
    if program and os.path.isabs(program) and not os.access(program, os.X_OK):
        return fail(f"points at {_clean(program, 120)}, which is missing", fixes.STATUSLINE_INSTALL, data)
    if str(command).strip() != settings.command_line(mine_words) and program not in mine_words:
        return warn(f"runs another ccprompt: {_clean(command, 120)}",
                    fixes.STATUSLINE_INSTALL + ", to point it at this one", data)
    return ok(f"{path} runs {_clean(command, 120)}", data)


@check("shell", "shell")
def shell_rc(ctx):
    from ccprompt.core import files

    found, looked, texts = [], [], {}
    for path in _rc_files(ctx):
        looked.append(path)
        try:
            text = files.read_regular(path, RC_READ_LIMIT).decode("utf-8", "replace")
        except OSError:
            continue
        if any(marker in text for marker in RC_MARKERS):
            found.append(path)
            texts[os.path.basename(path)] = text
    home = ctx.paths.home
    short = [p.replace(home, "~", 1) if home and p.startswith(home) else p for p in (found or looked)]
    if found:
        clash = title_clash(texts)
        if clash:
            return warn(f"init line in {', '.join(short)}, but {clash[0]}", clash[1],
                        {"files": found, "title_clash": clash[0]})
        login_file = bash_login_gap(ctx, found)
        if login_file:
            name = login_file.replace(home, "~", 1) if home and login_file.startswith(home) else login_file
            why = "does not exist" if not os.path.exists(login_file) else "does not load ~/.bashrc"
            return warn(f"init line in {', '.join(short)}, but a login bash (bash -l, macOS Terminal, ssh) "
                        f"reads {name}, which {why}: no prompt there",
                        f"ccprompt install shell bash (adds the standard lines that load ~/.bashrc to {name})",
                        {"files": found, "login_file": login_file})
        return ok(f"init line in {', '.join(short)}" + title_note(texts), {"files": found})
    return warn(f"no init line in {', '.join(short)}", fixes.shell(ctx.env),
                {"looked_in": looked, "shell": fixes.user_shell(ctx.env)})


def bash_login_gap(ctx, found: list) -> str | None:
    """The login file a login bash reads, when ~/.bashrc loads ccprompt but that file does not load it."""
    from ccprompt.surfaces.shell import login

    if ctx.paths.rc_file("bash") not in found:
        return None
    path, loads = login.login_loads_bashrc(ctx.paths.home)
    return None if loads else path


@check("clock", "clock")
def clock(ctx):
    path = ctx.path
    date = path.date if path is not None else None
    if date is None or date.server_date is None:
        if date is not None and date.why == "budget":
            reason = "doctor's budget ran out before the server answered"
        elif date is not None and date.why == "timeout":
            reason = f"the server's answer did not finish ({date.error})"
        elif date is not None and date.why == "missing":
            reason = "the server sent no Date header"
        else:
            reason = "the server could not be reached"
        return warn(f"skew unknown: {reason}", fixes.CLOCK_UNKNOWN)
    # Date has one-second resolution: the server's clock was somewhere in [date, date + 1).
    skew = date.server_date + 0.5 - date.local_time
    data = {"skew_s": round(skew, 2), "server_date": date.server_date}
    text = f"{skew:+.1f} s against the server's Date header (±1 s)"
    if abs(skew) > SKEW_FAIL_S:
        return fail(text + ": certificates and tokens may be judged expired", fixes.CLOCK, data)
    if abs(skew) > SKEW_WARN_S:
        return warn(text + ": timestamps across machines will disagree", fixes.CLOCK, data)
    return ok(text, data)


def _age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def _first_word(command) -> str:
    import shlex

    try:
        words = shlex.split(str(command or ""))
    except ValueError:
        return ""
    return words[0] if words else ""


TITLE_ESCAPES = ("\\e]0;", "\\e]2;", "\\033]0;", "\\033]2;", "\\x1b]0;", "\\x1b]2;")


def _wants_title(text: str) -> bool:
    return "--position title" in text or "--position=title" in text


def title_clash(texts: dict):
    """(what, fix) when something else rewrites the terminal title after ccprompt's hook does."""
    zshrc = texts.get(".zshrc", "")
    if _wants_title(zshrc):
        auto_title_off = any(f"DISABLE_AUTO_TITLE={q}true{q}" in zshrc for q in ('"', "'", ""))
        if "oh-my-zsh.sh" in zshrc and not auto_title_off:
            return ("oh-my-zsh sets the terminal title on every prompt, over ccprompt's",
                    'add DISABLE_AUTO_TITLE="true" to ~/.zshrc before oh-my-zsh is sourced, or use --position right')
        if any(escape in zshrc for escape in TITLE_ESCAPES):
            return ("~/.zshrc prints its own title escape, which can land after ccprompt's",
                    "remove that title escape from your precmd, or use --position right")
    fish = texts.get("config.fish", "")
    if _wants_title(fish) and "function fish_title" in fish:
        return ("your fish_title function writes the title too (ccprompt's goes in front of it)",
                "remove fish_title from config.fish, or use --position right")
    return None


def title_note(texts: dict) -> str:
    """bash: a PS1 that sets the title is fine, ccprompt's title comes after it; say so."""
    bashrc = texts.get(".bashrc", "")
    if _wants_title(bashrc) and any(escape in bashrc for escape in TITLE_ESCAPES):
        return " (your PS1 sets the title too; ccprompt's comes after it and wins)"
    return ""


def _rc_files(ctx) -> list:
    """Where an init line may live: each shell's rc file, plus the login files of bash and zsh."""
    files = [ctx.paths.rc_file(shell) for shell in ("zsh", "bash", "fish")]
    for extra in (".bash_profile", ".zprofile"):
        path = os.path.join(ctx.paths.home, extra)
        if path not in files:
            files.append(path)
    return files
