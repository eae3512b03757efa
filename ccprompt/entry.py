"""argv -> the fast parser or the Typer app, and the one error guard.

The hot commands (marked `fast` in the option table) are parsed on the standard library;
`--help`, `--version` and everything else go to Typer, which costs several times the
interpreter's start-up to import. Whatever fails becomes one line on stderr and exit 1
or 2; a traceback reaches only debug.log, and only with CCPROMPT_DEBUG set.
"""

from __future__ import annotations

import os
import sys

HELP_WORDS = ("--help", "-h")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return dispatch(argv)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the one guard: nothing below prints a traceback
        return report(exc)


def dispatch(argv: list) -> int:
    if argv[:1] == ["statusline"] and all(arg == "--sync" for arg in argv[1:]):
        # Every redraw of Claude Code runs this: straight to it, not even the option table.
        from ccprompt.surfaces.statusline import main as statusline

        return statusline(argv[1:])
    if argv[:1] in (["-V"], ["--version"]):
        from ccprompt import __version__

        sys.stdout.write(f"ccprompt {__version__}\n")
        return 0
    from ccprompt.cli import table

    command, rest = table.find(argv)
    if command is not None and command.fast and not asks_for_help(command, rest):
        from ccprompt.cli import fast

        return fast.run(command, rest)
    from ccprompt.cli import app

    return app.run(argv)


def asks_for_help(command, rest: list) -> bool:
    """`--help` meant for ccprompt: anywhere for most commands, but for a command that runs
    another (`run claude --help`) only before that command's name."""
    if any(param.kind == "rest" for param in command.params):
        for arg in rest:
            if arg in HELP_WORDS:
                return True
            if arg == "--" or not arg.startswith("-"):
                return False
        return False
    return any(arg in HELP_WORDS for arg in rest)


def report(exc: BaseException) -> int:
    """One line for the user; the traceback only in debug.log when CCPROMPT_DEBUG is set."""
    from ccprompt.core.errors import CcpromptError
    from ccprompt.core.text import sanitize

    if isinstance(exc, CcpromptError):
        message, code = str(exc), exc.exit_code
    elif isinstance(exc, OSError) and exc.strerror:
        where = f" {exc.filename}" if exc.filename else ""
        message, code = f"cannot use{where}: {exc.strerror}", 1
    else:
        message, code = f"internal error ({type(exc).__name__}: {exc}); CCPROMPT_DEBUG=1 logs the details", 1
    from ccprompt.core.text import redact_secrets

    secrets = [os.environ.get(name, "") for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN",
                                                     "CLAUDE_CODE_OAUTH_TOKEN")]
    sys.stderr.write(f"ccprompt: {sanitize(redact_secrets(message, secrets), 400)}\n")
    if os.environ.get("CCPROMPT_DEBUG", "").strip().lower() in ("1", "true", "yes", "on"):
        _log_traceback(exc)
    return code


def _log_traceback(exc: BaseException) -> None:
    try:
        import traceback

        from ccprompt.core import debuglog
        from ccprompt.core.paths import Paths

        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
        debuglog.log(Paths(), "traceback", lines=[line.rstrip() for line in lines][-40:])
    except Exception:
        pass
