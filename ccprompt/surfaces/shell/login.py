"""Which shell `install shell` means when none is named, and bash's login shells.

The shell you type in (the parent process) and your login shell ($SHELL) can differ: a
`bash` opened from zsh, a script, an IDE terminal. New terminals open the login shell, so
that one is followed, and the choice is said out loud with the command for the other.

A login bash (`bash -l`, macOS Terminal, ssh) reads the first of ~/.bash_profile,
~/.bash_login and ~/.profile, and never ~/.bashrc by itself. Most distributions ship a
~/.profile that loads ~/.bashrc; an empty HOME has none, and the prompt would not load.
"""

from __future__ import annotations

import os

from ccprompt.surfaces.shell.init import SHELLS, UsageError

BASH_LOGIN_FILES = (".bash_profile", ".bash_login", ".profile")
# The standard lines that make a login bash read ~/.bashrc, as Debian's and Fedora's skeletons do.
LOADS_BASHRC = 'if [ -n "$BASH_VERSION" ] && [ -f "$HOME/.bashrc" ]; then . "$HOME/.bashrc"; fi'


def login_shell(env) -> str | None:
    """The login shell's name: $SHELL, else the passwd entry."""
    path = env.get("SHELL")
    if not path:
        try:
            import pwd

            path = pwd.getpwuid(os.getuid()).pw_shell
        except (KeyError, ImportError, OSError):
            path = None
    return os.path.basename(path).lstrip("-").lower() if path else None


def current_shell() -> str | None:
    """The shell that started us (shellingham walks the parents), or None."""
    try:
        import shellingham

        name = shellingham.detect_shell()[0]
    except Exception:  # no shell among the parents, or /proc unreadable
        return None
    name = os.path.basename(name).lstrip("-").lower()
    return name[:-4] if name.endswith(".exe") else name


def choose(env, verb: str = "install") -> tuple[str, str | None]:
    """(shell, a note to print or None) for `install shell` / `uninstall shell` with no name."""
    login, current = login_shell(env), current_shell()
    if login in SHELLS:
        if current in SHELLS and current != login:
            return login, (f"your login shell is {login} (SHELL={env.get('SHELL') or login}) but this is "
                           f"{current}; following the login shell, which new terminals open "
                           f"(for {current}: ccprompt {verb} shell {current})")
        return login, None
    if current in SHELLS:
        note = (f"your login shell ({login}) is not bash, zsh or fish; using {current}, the shell you are in"
                if login else None)
        return current, note
    raise UsageError("could not tell your shell; name it: ccprompt "
                     f"{verb} shell bash|zsh|fish")


def bash_login_file(home: str) -> tuple[str, bool]:
    """(the file a login bash reads, whether it exists): the first of BASH_LOGIN_FILES that
    exists, else ~/.profile (created if needed, so that sh logins read it too)."""
    for name in BASH_LOGIN_FILES:
        path = os.path.join(home, name)
        if os.path.exists(path):
            return path, True
    return os.path.join(home, ".profile"), False


def login_loads_bashrc(home: str) -> tuple[str, bool]:
    """(the login file, whether it loads ~/.bashrc): a mention of `.bashrc` outside a comment counts."""
    path, exists = bash_login_file(home)
    if not exists:
        return path, False
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(1 << 20)
    except OSError:
        return path, False
    return path, any(".bashrc" in line and not line.lstrip().startswith("#") for line in text.splitlines())
