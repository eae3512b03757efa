"""argv -> the command, and the one error guard.

Every command is parsed on the standard library (`cli.fast`, from the option table), help
included; `statusline` goes straight to its module. Whatever fails becomes one line on
stderr and exit 1 or 2; a traceback reaches only debug.log, and only with CCPROMPT_DEBUG set.
"""

import sys

from ccprompt.core import oslite


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


def leave(code) -> None:
    """Exit with `code`, as `sys.exit` does; after a status line render, without the teardown.

    Claude Code runs the status line on every redraw, and tearing the interpreter down (its
    modules, a last garbage collection) costs about as much as a fifth of starting it. The
    render holds nothing that needs it: no thread, no `atexit` handler, every file it wrote
    closed. Its output is flushed, then the process ends at once.
    """
    if sys.argv[1:2] != ["statusline"]:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # the reader went away: nothing left to say it to
        pass
    from posix import _exit

    _exit(code if isinstance(code, int) else 0 if code is None else 1)


def dispatch(argv: list) -> int:
    if argv[:1] == ["statusline"] and all(arg == "--sync" for arg in argv[1:]):
        # Every redraw of Claude Code runs this: straight to it, not even the option table.
        from ccprompt.surfaces.statusline import main as statusline

        return statusline(argv[1:])
    if argv[:1] in (["-V"], ["--version"]):
        from ccprompt import __version__

        sys.stdout.write(f"ccprompt {__version__}\n")
        return 0
    from ccprompt.cli import fast

    return fast.main(argv)


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

    secrets = [oslite.environ().get(name, "") for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN",
                                                     "CLAUDE_CODE_OAUTH_TOKEN")]
    sys.stderr.write(f"ccprompt: {sanitize(redact_secrets(message, secrets), 400)}\n")
    if oslite.environ().get("CCPROMPT_DEBUG", "").strip().lower() in ("1", "true", "yes", "on"):
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
