"""The statusLine that `install statusline` replaced (or wraps, with --keep), kept in ccprompt's
own state directory so `uninstall statusline` can put it back."""

from __future__ import annotations

import json
import os
import time

from ccprompt.core import files, statedir
from ccprompt.core.errors import CcpromptError
from ccprompt.core.paths import Paths

REPLACED_FILE = "replaced-statusline.json"


def is_ours(entry) -> bool:
    command = str(entry.get("command", "")).rstrip() if isinstance(entry, dict) else ""
    return command.removesuffix(" --keep").endswith("statusline") and "ccprompt" in command


def replaced_path(env=None) -> str:
    return Paths(env).in_state(REPLACED_FILE)


def remember(previous, env=None) -> None:
    """Keep the user's own statusLine (or forget an old one when there is none now).

    The one record of it; ccprompt's own command is never written over it.
    """
    if is_ours(previous):
        return
    state_dir = Paths(env).state_dir
    path = replaced_path(env)
    if previous is None:
        if not files.unsafe_dir(state_dir):
            try:
                os.unlink(path)
            except OSError:
                pass
        return
    problem = files.unsafe_dir(state_dir)
    if problem:
        raise CcpromptError(f"cannot keep your current statusLine to restore it later: {problem}")
    files.private_dir(state_dir)
    record = {"statusLine": previous, "replaced_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    files.atomic_write(path, files.encode(json.dumps(record, indent=2, ensure_ascii=False) + "\n"), 0o600)


def remembered(env=None):
    """The statusLine to put back, or None. Only from a state directory and a file that are ours."""
    if files.unsafe_dir(Paths(env).state_dir):
        return None
    path = replaced_path(env)
    try:
        if os.lstat(path).st_uid != os.getuid():
            return None
        record = json.loads(statedir.read_state(Paths(env).state_dir, path, 1 << 20))
    except (OSError, ValueError):
        return None
    entry = record.get("statusLine") if isinstance(record, dict) else None
    return entry if entry is not None and not is_ours(entry) else None
