"""`install shell` / `uninstall shell`: the marked init block in a shell's rc file."""

from __future__ import annotations

import os
import sys

from ccprompt.core.files import atomic_write, private_dir
from ccprompt.core.paths import Paths, executable_words
from ccprompt.surfaces import leftovers
from ccprompt.surfaces.shell import login
from ccprompt.surfaces.shell.init import SHELLS, UsageError
from ccprompt.surfaces.shell.quote import posix_quote, quote_for

BLOCK_START = "# >>> ccprompt >>>"
BLOCK_END = "# <<< ccprompt <<<"


def rc_file(shell: str, env=None) -> str:
    """The rc file the init line belongs in."""
    return Paths(env).rc_file(shell)


def init_line(shell: str, exe: list[str] | None = None, options: dict | None = None) -> str:
    """The one line that loads ccprompt into `shell`, with `--position`/`--style` when given."""
    exe = exe or executable_words()
    command = " ".join(quote_for(shell)(w) for w in exe)
    extra = "".join(f" --{name} {value}" for name, value in (options or {}).items() if value)
    if shell == "fish":
        return f"{command} init fish{extra} | source"
    return f'eval "$({command} init {shell}{extra})"'


def rc_block(shell: str, exe: list[str] | None = None, options: dict | None = None, extra: str = "") -> str:
    return (f"{BLOCK_START}\n"
            "# Added by `ccprompt install shell`; `ccprompt uninstall shell` removes it.\n"
            f"{init_line(shell, exe, options)}\n"
            f"{extra}"
            f"{BLOCK_END}\n")


def login_block() -> str:
    return (f"{BLOCK_START}\n"
            "# Added by `ccprompt install shell bash`: a login bash reads this file, not ~/.bashrc.\n"
            f"{login.LOADS_BASHRC}\n"
            f"{BLOCK_END}\n")


def bash_completion_present() -> bool:
    """Whether the bash-completion package is there to load ~/.local/share/bash-completion/."""
    return any(os.path.exists(p) for p in ("/usr/share/bash-completion/bash_completion", "/etc/bash_completion",
                                             "/usr/local/share/bash-completion/bash_completion",
                                             "/opt/homebrew/share/bash-completion/bash_completion",
                                             "/usr/local/etc/profile.d/bash_completion.sh"))


def completion_line(shell: str, env=None) -> str:
    """For bash without the bash-completion package: load the completions install.sh saved."""
    if shell != "bash" or bash_completion_present():
        return ""
    paths = Paths(env)
    data_home = paths.env.get("XDG_DATA_HOME") or os.path.join(paths.home, ".local", "share")
    saved = os.path.join(data_home, "bash-completion", "completions", "ccprompt")
    if not os.path.isfile(saved):
        return ""
    quoted = posix_quote(saved)
    return f"[ -r {quoted} ] && . {quoted}  # completions (no bash-completion package here)\n"


OPTION_NAMES = ("position", "style")


def init_options(line: str) -> dict:
    """The `--position` and `--style` an init line passes (`--position right` or `--position=right`)."""
    words = line.replace('"', " ").replace("'", " ").replace(")", " ").replace("=", " ").split()
    found = {}
    for name in OPTION_NAMES:
        flag = f"--{name}"
        if flag in words[:-1]:
            found[name] = words[words.index(flag) + 1]
    return found


def user_init_lines(text: str, shell: str) -> list:
    """(line number, line) of each init line for `shell` outside ccprompt's block, e.g. the
    `eval "$(ccprompt init zsh --position right)"` the docs suggest adding by hand."""
    found, inside = [], False
    for number, line in enumerate(text.splitlines(), 1):
        bare = line.strip()
        if bare == BLOCK_START:
            inside = True
        elif bare == BLOCK_END:
            inside = False
        elif not inside and not bare.startswith("#") and "ccprompt" in bare:
            words = bare.replace('"', " ").replace("'", " ").replace("(", " ").replace(")", " ").split()
            if "init" in words and shell in words[words.index("init") + 1:words.index("init") + 2]:
                found.append((number, bare))
    return found


def _find_block(text: str):
    """(start, end) offsets of the marked block including its final newline, or None.

    Raises ValueError when a start marker has no end marker, so a damaged file is
    reported instead of being cut short.
    """
    lines = text.splitlines(keepends=True)
    offset = 0
    start = None
    for line in lines:
        bare = line.rstrip("\r\n")
        if start is None and bare == BLOCK_START:
            start = offset
        elif start is not None and bare == BLOCK_END:
            return start, offset + len(line)
        offset += len(line)
    if start is not None:
        raise ValueError(f"'{BLOCK_START}' has no matching '{BLOCK_END}'")
    return None


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def _write_text(path: str, text: str) -> None:
    """Replace the file atomically, keeping its mode; a symlinked rc file stays a symlink.
    A file ccprompt creates is remembered, so `uninstall all --purge` may remove it once empty."""
    target = os.path.realpath(path)
    if not os.path.exists(target):
        leftovers.remember_created(target)
    directory = os.path.dirname(target)
    private_dir(directory)
    try:
        mode = os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    atomic_write(target, text.encode("utf-8", "surrogateescape"), mode)


def _resolve_shell(shell: str | None, verb: str = "install") -> str:
    if shell is None:
        name, note = login.choose(os.environ, verb)
        if note:
            print(f"ccprompt: {note}")
        return name
    name = shell.strip().lower()
    if name not in SHELLS:
        raise UsageError(f"unsupported shell {shell!r}; ccprompt supports bash, zsh and fish")
    return name


def _reload_hint(shell: str, path: str) -> str:
    if shell == "fish":
        return "open a new shell, or run: exec fish"
    return f"open a new shell, or run: source {posix_quote(path)}"


def install_shell(shell: str | None, dry_run: bool = False, position: str | None = None,
                  style: str | None = None) -> int:
    """Add (or update) the marked init block in the shell's rc file. Idempotent.

    An init line the user wrote is recognised and left alone; options not given keep the
    values the existing line or block has, so a `--position right` is never lost. For bash,
    a login shell is made to read ~/.bashrc too (see `login`)."""
    try:
        shell = _resolve_shell(shell)
    except UsageError as exc:
        sys.stderr.write(f"ccprompt install shell: {exc}\n")
        return 2
    asked = {name: value for name, value in (("position", position), ("style", style)) if value}
    code = _install_rc(shell, rc_file(shell), asked, dry_run)
    if code == 0 and shell == "bash":
        code = _wire_bash_login(dry_run)
    return code


def _install_rc(shell: str, path: str, asked: dict, dry_run: bool) -> int:
    try:
        text = _read_text(path)
        found = _find_block(text)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"ccprompt install shell: cannot update {path}: {exc}\n")
        return 1
    theirs = user_init_lines(text, shell)
    if theirs:
        number, line = theirs[0]
        has = init_options(line)
        differs = {name: value for name, value in asked.items() if has.get(name, "") != value}
        if not differs:
            print(f"ccprompt: {path} already loads ccprompt (line {number}: {line}); nothing to change")
            return 0
        wanted = " ".join(f"--{name} {value}" for name, value in differs.items())
        sys.stderr.write(f"ccprompt install shell: {path} already loads ccprompt on line {number} ({line}); "
                         f"add {wanted} to that line yourself, or delete it and run this again\n")
        return 1
    options = dict(init_options(text[found[0]:found[1]])) if found is not None else {}
    options.update(asked)
    block = rc_block(shell, options={name: options[name] for name in OPTION_NAMES if name in options},
                     extra=completion_line(shell))
    return _put_block(path, text, found, block, dry_run, _reload_hint(shell, path))


def _put_block(path: str, text: str, found, block: str, dry_run: bool, hint: str) -> int:
    if found is not None:
        start, end = found
        if text[start:end] == block:
            print(f"ccprompt: {path} already loads ccprompt; nothing to change")
            return 0
        new_text = text[:start] + block + text[end:]
        action, planned = "updated the ccprompt block in", "would update the ccprompt block in"
    else:
        separator = "" if not text else ("\n" if text.endswith("\n") else "\n\n")
        new_text = text + separator + block
        action, planned = "added the ccprompt block to", "would add the ccprompt block to"
    if dry_run:
        print(f"ccprompt: {planned} {path} (dry run, nothing written):")
        sys.stdout.write("".join(f"    {line}\n" for line in block.splitlines()))
        return 0
    try:
        _write_text(path, new_text)
    except OSError as exc:
        sys.stderr.write(f"ccprompt install shell: cannot write {path}: {exc.strerror or exc}\n")
        return 1
    print(f"ccprompt: {action} {path}; {hint}")
    return 0


def _wire_bash_login(dry_run: bool) -> int:
    """A login bash (`bash -l`, macOS Terminal, ssh) reads ~/.bash_profile, ~/.bash_login or
    ~/.profile, never ~/.bashrc: unless that file loads ~/.bashrc already, add the standard
    lines that do, in ccprompt's block (created as ~/.profile when there is none)."""
    path, loads = login.login_loads_bashrc(Paths().home)
    if loads:
        return 0
    try:
        text = _read_text(path)
        found = _find_block(text)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"ccprompt install shell: cannot update {path}: {exc}\n")
        return 1
    return _put_block(path, text, found, login_block(), dry_run,
                      "login shells (bash -l) now read ~/.bashrc too")


def uninstall_shell(shell: str | None, dry_run: bool = False) -> int:
    """Remove the marked block from the shell's rc file; with no shell named, from every rc
    file that has one (and bash's login file). Idempotent."""
    if shell is None:
        targets = [(name, rc_file(name)) for name in SHELLS]
    else:
        try:
            shell = _resolve_shell(shell, "uninstall")
        except UsageError as exc:
            sys.stderr.write(f"ccprompt uninstall shell: {exc}\n")
            return 2
        targets = [(shell, rc_file(shell))]
    quiet = shell is None
    results = [_remove_block(name, path, dry_run, quiet) for name, path in targets]
    if any(name == "bash" for name, _ in targets):  # the lines install put in bash's login file
        results.append(_remove_block("bash", login.bash_login_file(Paths().home)[0], dry_run, quiet=True))
    if quiet and not any(removed for _, removed in results):
        print(f"ccprompt: no ccprompt block in {', '.join(path for _, path in targets)}; nothing to remove")
    return max(code for code, _ in results)


def _remove_block(shell: str, path: str, dry_run: bool, quiet: bool = False) -> tuple[int, bool]:
    """(exit code, whether a block was (or would be) removed) for one file."""
    try:
        text = _read_text(path)
        found = _find_block(text)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"ccprompt uninstall shell: cannot update {path}: {exc}\n")
        return 1, False
    leftover = "".join(f"\nccprompt: line {number} still loads ccprompt in {path} ({line}); remove it yourself"
                       for number, line in user_init_lines(text, shell))
    if found is None:
        if not quiet or leftover:
            print(f"ccprompt: {path} has no ccprompt block; nothing to remove{leftover}")
        return 0, False
    start, end = found
    before, after = text[:start], text[end:]
    # Drop the blank line that `install` put in front of the block.
    if before.endswith("\n\n"):
        before = before[:-1]
    if dry_run:
        print(f"ccprompt: would remove the ccprompt block from {path} (dry run, nothing written):")
        sys.stdout.write("".join(f"    {line}\n" for line in text[start:end].splitlines()))
        return 0, True
    try:
        _write_text(path, before + after)
    except OSError as exc:
        sys.stderr.write(f"ccprompt uninstall shell: cannot write {path}: {exc.strerror or exc}\n")
        return 1, False
    print(f"ccprompt: removed the ccprompt block from {path}; open a new shell to drop the hook{leftover}")
    return 0, True
