"""Shell integration: `ccprompt init` scripts, and the rc-file block of `ccprompt install shell`.

`init` runs at every shell start, so its fast path imports only `os` and `sys`: a
script rendered once from the jinja2 templates is kept under `$CCPROMPT_HOME/init/`,
keyed by everything that shapes it, and later calls print that file. Typer, jinja2 and
shellingham load only when they are needed.
"""

from __future__ import annotations

import os
import sys

from ccprompt.core.errors import UsageError
from ccprompt.core.paths import PROMPT_FILE, PROMPT_SESSION_FILE, Paths, executable_words
from ccprompt.surfaces.shell.quote import quote_for

SHELLS = ("bash", "zsh", "fish")
POSITIONS = ("left", "right", "title", "none")
STYLES = ("icon", "short", "full")
DEFAULT_POSITION = "left"
DEFAULT_STYLE = "short"
DEFAULT_REFRESH_INTERVAL_S = 300
DEFAULT_RETRY_S = 10

CACHE_MAGIC = "#ccprompt-init-cache v1 "
# Lines of the prompt cache holding the segment in each style (1-based).
SEGMENT_LINE = {"icon": 7, "short": 8, "full": 9}




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


def emit(text: str) -> None:
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
# Rendering and the init cache


def _package_dir() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def templates_dir() -> str:
    """`ccprompt/templates` in an installed wheel, `<checkout>/templates` in a source tree."""
    package = _package_dir()
    installed = os.path.join(package, "templates")
    if os.path.isdir(installed):
        return installed
    return os.path.join(os.path.dirname(package), "templates")


def template_path(shell: str) -> str:
    return os.path.join(templates_dir(), f"{shell}.j2")


def intervals(paths: Paths | None = None) -> tuple[int, int]:
    """(prompt.refresh_interval_s, red_interval_s: the shortest gap between one shell's refreshes),
    from one reading of the config (each its default when the value is bad)."""
    from ccprompt.core.config import Config

    config = Config.load(paths)
    return config["prompt.refresh_interval_s"], config["red_interval_s"]


def render_script(shell: str, position: str = DEFAULT_POSITION, style: str = DEFAULT_STYLE,
                  refresh: bool = True, interval: int = DEFAULT_REFRESH_INTERVAL_S,
                  exe: list[str] | None = None, home: str | None = None, wrap_claude: bool = False,
                  retry: int = DEFAULT_RETRY_S) -> str:
    """Render the init script from its jinja2 template (the slow path)."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from ccprompt import __version__
    from ccprompt.core import promptsession, session_rules
    from ccprompt.core import render as _render
    from ccprompt.core.text import sanitize

    if shell not in SHELLS or position not in POSITIONS or style not in STYLES:
        raise ValueError(f"unsupported combination {shell}/{position}/{style}")
    exe = list(exe) if exe else executable_words()
    home = home or Paths().state_dir
    quote = quote_for(shell)
    cache_file = os.path.join(home, PROMPT_FILE)
    options = f" --position {position} --style {style}" + ("" if refresh else " --no-refresh") + \
        (" --wrap-claude" if wrap_claude else "")
    words = " ".join(quote(w) for w in exe)
    line = SEGMENT_LINE[style]
    context = {
        "version": __version__,
        "shell": shell,
        "options": options,
        "position": position,
        "style": style,
        "refresh": bool(refresh),
        "interval": int(interval),
        # A shell starts a refresh once the cache says a probe is due, at most once per `retry`.
        "retry": max(min(int(retry), int(interval)), 1),
        "exe": words,
        "wrap_claude": bool(wrap_claude),
        # `alias claude='<the same words> run claude'`: the words quoted once more, as one value.
        "claude_alias": quote(words + " run claude"),
        "cache": quote(cache_file),
        "session_file": quote(os.path.join(home, PROMPT_SESSION_FILE)),
        "session_fresh_s": promptsession.FRESH_S,
        "session_reread_s": promptsession.REREAD_S,
        "stall_after_s": session_rules.STALL_AFTER_S,
        # Shown in a comment: no control characters, so nothing can end the comment.
        "cache_display": sanitize(cache_file, 400),
        "segment_index": line - 1,
        "segment_line": line,
        "fallback": quote(sanitize(_render.network_segment(None, style))),
        "icons": _render.ICONS,
    }
    # The shipped templates, sandboxed all the same: every jinja2 render in ccprompt is.
    environment = ImmutableSandboxedEnvironment(
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


def _cache_key(shell, position, style, refresh, exe, paths: Paths, wrap_claude: bool = False) -> str | None:
    from ccprompt import __version__

    package = _package_dir()
    parts = [
        __version__, shell, position, style, "refresh" if refresh else "no-refresh",
        "wrap-claude" if wrap_claude else "no-wrap",
        "\x1f".join(exe), paths.state_dir,
        template_path(shell), _stamp(template_path(shell)),
        paths.config_file, _stamp(paths.config_file),
    ]
    # Edits to the code that shapes the script (a source checkout) invalidate it too.
    shaping = ("surfaces/shell/init.py", "surfaces/shell/quote.py", "core/promptcache.py", "core/promptsession.py",
               "core/render.py", "core/text.py")
    parts += [_stamp(os.path.join(package, name)) for name in shaping]
    key = "\x1e".join(parts)
    return None if "\n" in key or "\r" in key else key


def init_script(shell: str, position: str = DEFAULT_POSITION, style: str = DEFAULT_STYLE,
                refresh: bool = True, paths: Paths | None = None, wrap_claude: bool = False) -> str:
    """The init script, from the init cache when it is current, else rendered and cached.

    The cache is used only in a state directory that is the user's alone: a script
    planted there by someone else would run in the user's shell.
    """
    from ccprompt.core.files import read_regular, unsafe_dir

    paths = paths or Paths()
    exe = executable_words()
    key = _cache_key(shell, position, style, refresh, exe, paths, wrap_claude)
    if unsafe_dir(paths.state_dir) or unsafe_dir(paths.init_dir):
        key = None
    cache_dir = paths.init_dir
    cache_file = os.path.join(cache_dir, f"{shell}-{position}-{style}-{'r' if refresh else 'n'}"
                                         + ("-w" if wrap_claude else ""))
    header = (CACHE_MAGIC + key + "\n").encode("utf-8", "surrogateescape") if key else None
    if header is not None:
        try:
            data = read_regular(cache_file, 1 << 20, owned=True)
            if data.startswith(header):
                return data[len(header):].decode("utf-8", "surrogateescape")
        except (OSError, UnicodeDecodeError):
            pass
    interval, retry = intervals(paths)
    script = render_script(shell, position, style, refresh, interval, exe, paths.state_dir, wrap_claude, retry)
    if header is not None:
        _write_private(cache_dir, cache_file, header + script.encode("utf-8", "surrogateescape"))
    return script


def _write_private(directory: str, path: str, data: bytes) -> None:
    """Best effort: a read-only home only means the next `init` renders again."""
    from ccprompt.core.files import atomic_write, private_dir

    try:
        private_dir(directory)
        atomic_write(path, data)
    except OSError:
        pass
