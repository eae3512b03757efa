"""How Claude Code signs in when ccprompt has no key of its own, learned without touching a secret.

- **A subscription login** (Pro or Max, `/login`): Claude Code keeps an OAuth credential in its
  own store. ccprompt only checks that the store *exists*:
  - Linux and others: the file `.credentials.json` in Claude Code's config directory
    (`$CLAUDE_SECURESTORAGE_CONFIG_DIR`, else `$CLAUDE_CONFIG_DIR`, else `~/.claude`, as Claude
    Code itself looks), by `stat` alone: it is never opened.
  - macOS: the Keychain item `Claude Code-credentials` (with Claude Code's own suffix when
    `CLAUDE_CONFIG_DIR` is set), by `security find-generic-password -s <service>` without `-w`
    or `-g`, which answers whether the item exists and never reads its secret (so macOS asks
    nothing); the file above too, where Claude Code falls back to it.
- **An `apiKeyHelper`** in Claude Code's settings: a command that prints a key, which may unlock
  a password manager and prompt the user. ccprompt never runs it; it only notes that one is set.

Either way ccprompt's probe is anonymous: the token is never read, copied or used. What that
means for the user is one sentence (`WORDS`), used by `doctor`, `explain` and `probe`.
"""

from __future__ import annotations

import os
import sys

from ccprompt.core.paths import Paths

STORE_FILE = ".credentials.json"
KEYCHAIN_SERVICE = "Claude Code-credentials"
WORDS = "overload and limits are read from your sessions; `ccprompt run claude` sees every request"


class Login:
    """`kind` is "subscription", "helper" or None; `where` says what was found, never a secret."""

    __slots__ = ("kind", "where")

    def __init__(self, kind=None, where=""):
        self.kind, self.where = kind, where

    def __bool__(self) -> bool:
        return self.kind is not None

    def line(self) -> str:
        """What a keyless user is told: the login, and where overload and limits come from."""
        if self.kind == "subscription":
            return f"subscription login: {WORDS}"
        if self.kind == "helper":
            return (f"key from an apiKeyHelper, which ccprompt never runs, so its probe is anonymous: {WORDS}")
        return ""


def store_dir(paths: Paths) -> str:
    """The directory Claude Code keeps `.credentials.json` in."""
    secure = paths.env.get("CLAUDE_SECURESTORAGE_CONFIG_DIR")
    if secure is not None:
        return paths.expand(secure) if secure else os.path.join(paths.home, ".claude")
    return paths.claude_dir


def store_file(paths: Paths) -> str | None:
    """The credential file's path when a non-empty regular file is there (stat only), else None."""
    import stat

    path = os.path.join(store_dir(paths), STORE_FILE)
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return path if stat.S_ISREG(info.st_mode) and info.st_size > 0 else None


def keychain_service(paths: Paths) -> str:
    """The Keychain service Claude Code names its item: a suffix of its config directory's hash when set."""
    configured = paths.env.get("CLAUDE_SECURESTORAGE_CONFIG_DIR")
    if configured is None and paths.env.get("CLAUDE_CONFIG_DIR"):
        configured = paths.claude_dir
    if not configured:
        return KEYCHAIN_SERVICE
    import hashlib
    import unicodedata

    digest = hashlib.sha256(unicodedata.normalize("NFC", configured).encode()).hexdigest()[:8]
    return f"{KEYCHAIN_SERVICE}-{digest}"


def keychain_item(paths: Paths, run=None) -> bool:
    """Whether the macOS Keychain holds Claude Code's item: attributes only, never the secret."""
    import subprocess

    argv = ["security", "find-generic-password", "-s", keychain_service(paths)]
    try:
        result = (run or subprocess.run)(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, timeout=3, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def api_key_helper(paths: Paths) -> bool:
    """Whether Claude Code's user settings name an `apiKeyHelper` (read as text; never run)."""
    from ccprompt.core import fastjson, files

    try:
        settings = fastjson.loads(files.read_regular(paths.claude_settings, 1 << 20))
    except (OSError, ValueError, RecursionError):
        return False
    helper = settings.get("apiKeyHelper") if isinstance(settings, dict) else None
    return isinstance(helper, str) and bool(helper.strip())


def detect(paths: Paths | None = None, platform: str | None = None, run=None) -> Login:
    """How Claude Code signs in, as far as can be told without reading a secret."""
    paths = paths or Paths()
    platform = platform or sys.platform
    found = store_file(paths)
    if found:
        shown = found.replace(paths.home, "~", 1) if found.startswith(paths.home + "/") else found
        return Login("subscription", f"{shown} (not read)")
    if platform == "darwin" and keychain_item(paths, run):
        return Login("subscription", f"the macOS Keychain item {keychain_service(paths)!r} (not read)")
    if api_key_helper(paths):
        return Login("helper", "apiKeyHelper in Claude Code's settings.json (not run)")
    return Login()
