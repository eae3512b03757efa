"""`install statusline`: wires ccprompt into Claude Code's settings.json, keeping everything else."""

from __future__ import annotations

import os
import sys
import time

from ccprompt.core.errors import CcpromptError

DEFAULT_REFRESH_S = 10


def settings_path(env=None) -> str:
    from ccprompt.core.paths import Paths

    return Paths(env).claude_settings


class SettingsError(CcpromptError):
    """settings.json exists but cannot be changed safely."""


def _load(path: str) -> tuple[dict, bytes | None]:
    import json

    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from None
    if not raw.strip():
        return {}, raw
    try:
        settings = json.loads(raw)
    except ValueError as exc:
        raise SettingsError(f"{path} is not valid JSON ({exc}); left untouched") from None
    if not isinstance(settings, dict):
        raise SettingsError(f"{path} does not hold a JSON object; left untouched")
    return settings, raw


def _save(path: str, settings: dict, old_raw: bytes | None) -> str | None:
    import json

    from ccprompt.core.files import atomic_write

    from ccprompt.core.files import private_dir

    private_dir(os.path.dirname(path))
    backup = None
    if old_raw is not None:
        backup = f"{path}.ccprompt-{time.strftime('%Y%m%d-%H%M%S')}.bak"
        atomic_write(backup, old_raw, 0o600)
    mode = 0o600
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        pass
    atomic_write(path, (json.dumps(settings, indent=2, ensure_ascii=False) + "\n").encode(), mode)
    return backup


def command_line(executable_argv: list) -> str:
    """The shell command Claude Code runs, each word quoted as needed."""
    import shlex

    return " ".join(shlex.quote(word) for word in [*executable_argv, "statusline"])


def _diff(old: dict | None, new: dict | None) -> str:
    import json

    before = json.dumps(old, indent=2) if old is not None else "(none)"
    after = json.dumps(new, indent=2) if new is not None else "(none)"
    return f"statusLine before: {before}\nstatusLine after:  {after}"


def install(executable_argv: list, dry_run: bool = False, env=None, out=None) -> int:
    out = out or sys.stdout
    path = settings_path(env)
    settings, raw = _load(path)
    current = settings.get("statusLine") if isinstance(settings.get("statusLine"), dict) else None
    wanted = dict(current or {})
    wanted.update(type="command", command=command_line(executable_argv), padding=0)
    wanted.setdefault("refreshInterval", DEFAULT_REFRESH_S)
    if current == wanted:
        out.write(f"statusLine in {path} already runs ccprompt; nothing to change\n")
        return 0
    if dry_run:
        out.write(f"would update {path}\n{_diff(current, wanted)}\n")
        return 0
    settings["statusLine"] = wanted
    backup = _save(path, settings, raw)
    out.write(f"statusLine in {path} now runs {wanted['command']}" + (f" (backup: {backup})" if backup else "") + "\n")
    return 0


def is_ours(entry) -> bool:
    return isinstance(entry, dict) and str(entry.get("command", "")).rstrip().endswith("statusline") and (
        "ccprompt" in str(entry.get("command", ""))
    )


def uninstall(dry_run: bool = False, env=None, out=None) -> int:
    out = out or sys.stdout
    path = settings_path(env)
    settings, raw = _load(path)
    current = settings.get("statusLine")
    if not is_ours(current):
        out.write(f"no ccprompt statusLine in {path}; nothing to change\n")
        return 0
    if dry_run:
        out.write(f"would update {path}\n{_diff(current, None)}\n")
        return 0
    del settings["statusLine"]
    backup = _save(path, settings, raw)
    out.write(f"removed the ccprompt statusLine from {path} (backup: {backup})\n")
    return 0
