"""Shell integration: `ccprompt init` scripts, and the rc-file block of `ccprompt install shell`.

`init` runs at every shell start, so its fast path imports only `os` and `sys`: a
script rendered once from the jinja2 templates is kept under `$CCPROMPT_HOME/init/`,
keyed by everything that shapes it, and later calls print that file. Typer, jinja2 and
shellingham load only when they are needed.
"""

from __future__ import annotations

import os
import sys

SHELLS = ("bash", "zsh", "fish")
POSITIONS = ("left", "right", "title", "none")
STYLES = ("icon", "short", "full")
DEFAULT_POSITION = "left"
DEFAULT_STYLE = "short"
DEFAULT_REFRESH_INTERVAL_S = 300
MIN_REFRESH_INTERVAL_S = 10
MAX_REFRESH_INTERVAL_S = 86400

BLOCK_START = "# >>> ccprompt >>>"
BLOCK_END = "# <<< ccprompt <<<"

CACHE_MAGIC = "#ccprompt-init-cache v1 "
# Lines of the prompt cache holding the segment in each style (1-based).
SEGMENT_LINE = {"icon": 7, "short": 8, "full": 9}

USAGE = """\
Usage: ccprompt init [bash|zsh|fish] [--position left|right|title|none]
                     [--style icon|short|full] [--no-refresh]

Prints the shell integration script. Add one line to your shell's configuration:
  bash  (~/.bashrc)                  eval "$(ccprompt init bash)"
  zsh   (~/.zshrc)                   eval "$(ccprompt init zsh)"
  fish  (~/.config/fish/config.fish) ccprompt init fish | source
or run `ccprompt install shell`.

  SHELL          bash, zsh or fish; detected from the parent process when omitted
  --position     where the segment goes: left (prompt prefix, the default), right
                 (RPROMPT / fish_right_prompt), title (terminal title) or none
                 (only the CCPROMPT_* environment variables)
  --style        icon (🟢), short (🟢 450ms, the default) or full (🟢 P95:450ms)
  --no-refresh   never start `ccprompt refresh` from the prompt
"""


class UsageError(Exception):
    """A bad `init` command line; the message is one line for stderr."""


# ---------------------------------------------------------------------------------------
# Command line


def parse_init_args(argv: list[str]) -> dict:
    """The options of `ccprompt init`, validated. Raises UsageError."""
    options = {"shell": None, "position": DEFAULT_POSITION, "style": DEFAULT_STYLE,
               "refresh": True, "help": False}
    values = {"--position": POSITIONS, "--style": STYLES}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg in ("-h", "--help"):
            options["help"] = True
        elif arg == "--no-refresh":
            options["refresh"] = False
        elif arg == "--refresh":
            options["refresh"] = True
        elif arg.split("=", 1)[0] in values:
            name, sep, value = arg.partition("=")
            if not sep:
                if i >= len(argv):
                    raise UsageError(f"{name} needs a value: {'|'.join(values[name])}")
                value = argv[i]
                i += 1
            if value not in values[name]:
                raise UsageError(f"{name} must be one of {', '.join(values[name])}, not {value!r}")
            options[name[2:]] = value
        elif arg.startswith("-"):
            raise UsageError(f"unknown option {arg!r} (see ccprompt init --help)")
        elif options["shell"] is None:
            options["shell"] = arg
        else:
            raise UsageError(f"unexpected argument {arg!r}; name one shell")
    if options["shell"] is not None and options["shell"] not in SHELLS:
        raise UsageError(f"unsupported shell {options['shell']!r}; ccprompt supports bash, zsh and fish")
    return options


def detect_shell() -> str:
    """The shell that started us (shellingham), else $SHELL. Raises UsageError."""
    name = None
    try:
        import shellingham

        name = shellingham.detect_shell()[0]
    except Exception:  # no parent shell found, or /proc unreadable
        name = os.path.basename(os.environ.get("SHELL", "")) or None
    if not name:
        raise UsageError("could not detect the shell; name it: ccprompt init bash|zsh|fish")
    name = os.path.basename(name).lstrip("-").lower()
    if name.endswith(".exe"):
        name = name[:-4]
    if name not in SHELLS:
        raise UsageError(f"unsupported shell {name!r} detected; ccprompt supports bash, zsh and fish "
                         "(name one: ccprompt init bash|zsh|fish)")
    return name


def init_main(argv: list[str]) -> int:
    """`ccprompt init ...`: print the integration script. Exit 0, or 2 on a bad call."""
    try:
        options = parse_init_args(argv)
        if options["help"]:
            _emit(USAGE)
            return 0
        shell = options["shell"] or detect_shell()
    except UsageError as exc:
        sys.stderr.write(f"ccprompt init: {exc}\n")
        return 2
    try:
        script = init_script(shell, options["position"], options["style"], options["refresh"])
    except Exception as exc:  # never a traceback into someone's `eval`
        sys.stderr.write(f"ccprompt init: cannot build the {shell} script: {exc}\n")
        return 1
    _emit(script)
    return 0


def _emit(text: str) -> None:
    """Write UTF-8 whatever the locale says: the script holds emoji and must arrive whole."""
    out = getattr(sys.stdout, "buffer", None)
    try:
        if out is not None:
            out.write(text.encode("utf-8", "surrogateescape"))
            out.flush()
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
    except BrokenPipeError:
        pass


# ---------------------------------------------------------------------------------------
# The executable the script calls


def _package_parent() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def executable_words(argv0: str | None = None) -> list[str]:
    """The command a shell hook runs to reach ccprompt, as separate words.

    The console script itself when we were started through it (an existing file named
    `ccprompt`), else `<python> -m ccprompt`. When the package is importable only
    because of the current directory or PYTHONPATH (a source checkout), PYTHONPATH is
    set through `env` so the hook works from any directory and any environment.
    """
    if argv0 is None:
        argv0 = sys.argv[0] if sys.argv else ""
    if argv0 and os.path.basename(argv0) == "ccprompt":
        path = os.path.abspath(argv0)
        if os.path.isfile(path):
            return [path]
    python = sys.executable or "python3"
    words = [python, "-m", "ccprompt"]
    parent = _package_parent()
    # Paths that come with the interpreter (site-packages, .pth files) hold for every later
    # run; the current directory and this process's own PYTHONPATH do not.
    passing = {os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    lasting = {os.path.abspath(p) for p in sys.path[1:] if p} - passing
    if parent not in lasting:
        env = "/usr/bin/env" if os.path.exists("/usr/bin/env") else "env"
        words = [env, f"PYTHONPATH={parent}"] + words
    return words


# ---------------------------------------------------------------------------------------
# Quoting


def _bare(word: str) -> bool:
    safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+=,-"
    return bool(word) and all(ch in safe for ch in word)


def posix_quote(word: str) -> str:
    """One word for bash/zsh/sh, single-quoted unless plainly safe."""
    if _bare(word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"


def fish_quote(word: str) -> str:
    """One word for fish, whose single quotes honour \\\\ and \\'."""
    if _bare(word):
        return word
    return "'" + word.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_for(shell: str):
    return fish_quote if shell == "fish" else posix_quote


# ---------------------------------------------------------------------------------------
# Rendering and the init cache


def templates_dir() -> str:
    """`ccprompt/templates` in an installed wheel, `<checkout>/templates` in a source tree."""
    package = os.path.dirname(os.path.abspath(__file__))
    installed = os.path.join(package, "templates")
    if os.path.isdir(installed):
        return installed
    return os.path.join(os.path.dirname(package), "templates")


def template_path(shell: str) -> str:
    return os.path.join(templates_dir(), f"{shell}.j2")


def refresh_interval(env=None) -> int:
    """prompt.refresh_interval_s from the config, bounded to 10 s .. 1 day."""
    from ccprompt import config

    try:
        value = config.load(env).get("prompt", {}).get("refresh_interval_s", DEFAULT_REFRESH_INTERVAL_S)
        value = int(value)
    except Exception:  # a broken config must not break the shell
        value = DEFAULT_REFRESH_INTERVAL_S
    return max(MIN_REFRESH_INTERVAL_S, min(value, MAX_REFRESH_INTERVAL_S))


def render_script(shell: str, position: str = DEFAULT_POSITION, style: str = DEFAULT_STYLE,
                  refresh: bool = True, interval: int = DEFAULT_REFRESH_INTERVAL_S,
                  exe: list[str] | None = None, home: str | None = None) -> str:
    """Render the init script from its jinja2 template (the slow path)."""
    import jinja2

    from ccprompt import __version__, promptcache
    from ccprompt import config as _config
    from ccprompt import render as _render

    if shell not in SHELLS or position not in POSITIONS or style not in STYLES:
        raise ValueError(f"unsupported combination {shell}/{position}/{style}")
    exe = list(exe) if exe else executable_words()
    home = home or _config.home_dir()
    quote = quote_for(shell)
    cache_file = promptcache.path(home)
    options = f" --position {position} --style {style}" + ("" if refresh else " --no-refresh")
    line = SEGMENT_LINE[style]
    context = {
        "version": __version__,
        "shell": shell,
        "options": options,
        "position": position,
        "style": style,
        "refresh": bool(refresh),
        "interval": int(interval),
        "exe": " ".join(quote(w) for w in exe),
        "cache": quote(cache_file),
        # Shown in a comment: no control characters, so nothing can end the comment.
        "cache_display": _render.sanitize(cache_file, 400),
        "segment_index": line - 1,
        "segment_line": line,
        "fallback": quote(_render.sanitize(_render.network_segment(None, style))),
        "icons": _render.ICONS,
    }
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        # `${#var}` is shell syntax, so jinja2 comments need other delimiters.
        comment_start_string="{%#",
        comment_end_string="#%}",
    )
    return environment.get_template(f"{shell}.j2").render(context)


def _stamp(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_mtime_ns}:{st.st_size}"


def _cache_key(shell, position, style, refresh, exe, home) -> str | None:
    from ccprompt import __version__
    from ccprompt import config as _config

    package = os.path.dirname(os.path.abspath(__file__))
    parts = [
        __version__, shell, position, style, "refresh" if refresh else "no-refresh",
        "\x1f".join(exe), home,
        template_path(shell), _stamp(template_path(shell)),
        _config.config_path(), _stamp(_config.config_path()),
    ]
    # Edits to the code that shapes the script (a source checkout) invalidate it too.
    parts += [_stamp(os.path.join(package, name)) for name in ("shells.py", "promptcache.py", "render.py")]
    key = "\x1e".join(parts)
    return None if "\n" in key or "\r" in key else key


def init_script(shell: str, position: str = DEFAULT_POSITION, style: str = DEFAULT_STYLE,
                refresh: bool = True) -> str:
    """The init script, from the init cache when it is current, else rendered and cached."""
    from ccprompt import config as _config

    exe = executable_words()
    home = _config.home_dir()
    key = _cache_key(shell, position, style, refresh, exe, home)
    cache_dir = os.path.join(home, "init")
    cache_file = os.path.join(cache_dir, f"{shell}-{position}-{style}-{'r' if refresh else 'n'}")
    header = (CACHE_MAGIC + key + "\n").encode("utf-8", "surrogateescape") if key else None
    if header is not None:
        try:
            with open(cache_file, "rb") as handle:
                data = handle.read()
            if data.startswith(header):
                return data[len(header):].decode("utf-8", "surrogateescape")
        except (OSError, UnicodeDecodeError):
            pass
    script = render_script(shell, position, style, refresh, refresh_interval(), exe, home)
    if header is not None:
        _write_private(cache_dir, cache_file, header + script.encode("utf-8", "surrogateescape"))
    return script


def _write_private(directory: str, path: str, data: bytes) -> None:
    """Best effort: a read-only home only means the next `init` renders again."""
    from ccprompt.state import atomic_write

    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        atomic_write(path, data)
    except OSError:
        pass


# ---------------------------------------------------------------------------------------
# install shell / uninstall shell


def rc_file(shell: str, env=None) -> str:
    """The rc file the init line belongs in."""
    env = os.environ if env is None else env
    home = env.get("HOME") or os.path.expanduser("~")
    if shell == "zsh":
        return os.path.join(env.get("ZDOTDIR") or home, ".zshrc")
    if shell == "bash":
        return os.path.join(home, ".bashrc")
    config_home = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return os.path.join(config_home, "fish", "config.fish")


def init_line(shell: str, exe: list[str] | None = None) -> str:
    """The one line that loads ccprompt into `shell`."""
    exe = exe or executable_words()
    command = " ".join(quote_for(shell)(w) for w in exe)
    if shell == "fish":
        return f"{command} init fish | source"
    return f'eval "$({command} init {shell})"'


def rc_block(shell: str, exe: list[str] | None = None) -> str:
    return (f"{BLOCK_START}\n"
            "# Added by `ccprompt install shell`; `ccprompt uninstall shell` removes it.\n"
            f"{init_line(shell, exe)}\n"
            f"{BLOCK_END}\n")


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
    """Replace the file atomically, keeping its mode; a symlinked rc file stays a symlink."""
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    os.makedirs(directory, exist_ok=True)
    try:
        mode = os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    from ccprompt.state import atomic_write

    atomic_write(target, text.encode("utf-8", "surrogateescape"), mode)


def _resolve_shell(shell: str | None) -> str:
    if shell is None:
        return detect_shell()
    name = shell.strip().lower()
    if name not in SHELLS:
        raise UsageError(f"unsupported shell {shell!r}; ccprompt supports bash, zsh and fish")
    return name


def _reload_hint(shell: str, path: str) -> str:
    if shell == "fish":
        return "open a new shell, or run: exec fish"
    return f"open a new shell, or run: source {posix_quote(path)}"


def install_shell(shell: str | None, dry_run: bool = False) -> int:
    """Add (or update) the marked init block in the shell's rc file. Idempotent."""
    try:
        shell = _resolve_shell(shell)
    except UsageError as exc:
        sys.stderr.write(f"ccprompt install shell: {exc}\n")
        return 2
    path = rc_file(shell)
    block = rc_block(shell)
    try:
        text = _read_text(path)
        found = _find_block(text)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"ccprompt install shell: cannot update {path}: {exc}\n")
        return 1
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
    print(f"ccprompt: {action} {path}; {_reload_hint(shell, path)}")
    return 0


def uninstall_shell(shell: str | None, dry_run: bool = False) -> int:
    """Remove the marked init block from the shell's rc file. Idempotent."""
    try:
        shell = _resolve_shell(shell)
    except UsageError as exc:
        sys.stderr.write(f"ccprompt uninstall shell: {exc}\n")
        return 2
    path = rc_file(shell)
    try:
        text = _read_text(path)
        found = _find_block(text)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"ccprompt uninstall shell: cannot update {path}: {exc}\n")
        return 1
    if found is None:
        print(f"ccprompt: {path} has no ccprompt block; nothing to remove")
        return 0
    start, end = found
    before, after = text[:start], text[end:]
    # Drop the blank line that `install` put in front of the block.
    if before.endswith("\n\n"):
        before = before[:-1]
    if dry_run:
        print(f"ccprompt: would remove the ccprompt block from {path} (dry run, nothing written):")
        sys.stdout.write("".join(f"    {line}\n" for line in text[start:end].splitlines()))
        return 0
    try:
        _write_text(path, before + after)
    except OSError as exc:
        sys.stderr.write(f"ccprompt uninstall shell: cannot write {path}: {exc.strerror or exc}\n")
        return 1
    print(f"ccprompt: removed the ccprompt block from {path}; open a new shell to drop the hook")
    return 0
