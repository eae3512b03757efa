"""`install statusline`: wires ccprompt into Claude Code's settings.json, keeping everything else.

settings.json is shared with Claude Code and often with a dotfiles repository, so it is edited
through `surfaces.jsonfile` (compare-and-swap, symlinks written through, few private backups,
owner and mode kept, one ccprompt editor at a time), and:

- a statusLine that ccprompt replaces is remembered in ccprompt's state directory (one
  record, written before settings.json changes, never holding ccprompt's own command) and put
  back by `uninstall statusline`;
- a `statusLine` that is not an object is refused, never replaced.
"""

from __future__ import annotations

import os
import sys

from ccprompt.surfaces.jsonfile import edit, load, refuse_shape, serialized
from ccprompt.surfaces.replaced_statusline import remember as _remember
from ccprompt.surfaces.replaced_statusline import remembered as _remembered
from ccprompt.surfaces.replaced_statusline import is_ours
from ccprompt.surfaces.replaced_statusline import replaced_path as _replaced_path

# Seconds between Claude Code's redraws of an idle line: a waiting-turn probe starts at most
# this long after it falls due (`schedule.AHEAD_S` starts it ahead) and shows at the next
# redraw, so red comes within 15 s of the first failed attempt (docs/signal.md).
DEFAULT_REFRESH_S = 2
# What earlier versions wrote: an interval still at that value was ours, not the user's.
OLD_DEFAULT_REFRESH_S = (10,)


def settings_path(env=None) -> str:
    from ccprompt.core.paths import Paths

    return Paths(env).claude_settings


def command_line(executable_argv: list, keep: bool = False) -> str:
    """The shell command Claude Code runs, each word quoted as needed."""
    import shlex

    return " ".join(shlex.quote(word) for word in [*executable_argv, "statusline"]) + (" --keep" if keep else "")


def _diff(old: dict | None, new: dict | None) -> str:
    import json

    before = json.dumps(old, indent=2) if old is not None else "(none)"
    after = json.dumps(new, indent=2) if new is not None else "(none)"
    return f"statusLine before: {before}\nstatusLine after:  {after}"


def _wanted(current, executable_argv, keep: bool = False) -> dict:
    wanted = dict(current) if isinstance(current, dict) else {}
    if is_ours(wanted) and wanted.get("refreshInterval") in OLD_DEFAULT_REFRESH_S:
        wanted.pop("refreshInterval")
    wanted.update(type="command", command=command_line(executable_argv, keep), padding=0)
    wanted.setdefault("refreshInterval", DEFAULT_REFRESH_S)
    return wanted


def install(executable_argv: list, dry_run: bool = False, env=None, out=None, keep: bool = False) -> int:
    if dry_run:
        return _install(executable_argv, True, env, out or sys.stdout, keep)
    with serialized(settings_path(env)):
        return _install(executable_argv, False, env, out or sys.stdout, keep)


def _install(executable_argv: list, dry_run: bool, env, out, keep: bool) -> int:
    path = settings_path(env)
    settings, _, _, _ = load(os.path.realpath(path))
    current = settings.get("statusLine")
    refuse_shape(path, "statusLine", current)
    if keep and (not isinstance(current, dict) or not current.get("command")) and not _remembered(env):
        out.write(f"no statusLine command in {path} to keep; installing ccprompt's own line\n")
        keep = False
    wanted = _wanted(current, executable_argv, keep)
    if current == wanted:
        out.write(f"statusLine in {path} already runs ccprompt; nothing to change\n")
        return 0
    if dry_run:
        out.write(f"would update {path}\n{_diff(current if isinstance(current, dict) else None, wanted)}\n")
        return 0
    replaced = {}

    def change(fresh: dict) -> bool:
        entry = fresh.get("statusLine")
        refuse_shape(path, "statusLine", entry)
        new = _wanted(entry, executable_argv, keep)
        if entry == new:
            return False
        if "entry" not in replaced:
            replaced["entry"] = entry
        fresh["statusLine"] = new
        return True

    if not is_ours(current):
        _remember(current, env)  # before settings.json changes, so it is never lost
    changed, backup, _ = edit(path, change)
    previous = replaced.get("entry")
    if previous is not None and not is_ours(previous) and previous != current:
        _remember(previous, env)  # a concurrent writer changed it since the first read
    note = f" (backup: {backup})" if backup else ""
    if previous is not None and not is_ours(previous):
        how = "still runs, with ccprompt's segment appended; it is kept in" if keep else "is kept in"
        note += f"; your previous statusLine {how} {_replaced_path(env)} and comes back on uninstall"
    out.write(f"statusLine in {path} now runs {wanted['command']}{note}\n")
    return 0


def uninstall(dry_run: bool = False, env=None, out=None) -> int:
    if dry_run:
        return _uninstall(True, env, out or sys.stdout)
    with serialized(settings_path(env)):
        return _uninstall(False, env, out or sys.stdout)


def _uninstall(dry_run: bool, env, out) -> int:
    path = settings_path(env)
    settings, _, _, _ = load(os.path.realpath(path))
    current = settings.get("statusLine")
    if not is_ours(current):
        out.write(f"no ccprompt statusLine in {path}; nothing to change\n")
        return 0
    previous = _remembered(env)
    if dry_run:
        out.write(f"would update {path}\n{_diff(current, previous)}\n")
        return 0

    def change(fresh: dict) -> bool:
        if not is_ours(fresh.get("statusLine")):
            return False
        if previous is None:
            del fresh["statusLine"]
        else:
            fresh["statusLine"] = previous
        return True

    _, backup, _ = edit(path, change)
    note = f" (backup: {backup})" if backup else ""
    if previous is not None:
        try:
            os.unlink(_replaced_path(env))
        except OSError:
            pass
        command = previous.get("command") if isinstance(previous, dict) else None
        shown = f" ({command})" if isinstance(command, str) else ""
        out.write(f"restored your previous statusLine{shown} in {path}{note}\n")
    else:
        out.write(f"removed the ccprompt statusLine from {path}{note}\n")
    return 0
