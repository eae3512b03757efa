"""The Typer app: every `ccprompt` command, with help text and argument checking.

The hot commands are normally dispatched by `entry.py` before this module loads; they are
declared here too, for `--help` and for unusual argument forms.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from typing import Optional

import typer

from ccprompt import __version__

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Claude API health in Claude Code's status line and your shell prompt.",
)
install_app = typer.Typer(no_args_is_help=True, help="Wire ccprompt into Claude Code or a shell.")
uninstall_app = typer.Typer(no_args_is_help=True, help="Remove what `ccprompt install` added.")
app.add_typer(install_app, name="install")
app.add_typer(uninstall_app, name="uninstall")


class Style(str, Enum):
    icon = "icon"
    short = "short"
    full = "full"


class Position(str, Enum):
    left = "left"
    right = "right"
    title = "title"
    none = "none"


def fail(message: str, code: int = 1):
    typer.echo(f"ccprompt: {message}", err=True)
    raise typer.Exit(code)


def _version(value: bool):
    if value:
        typer.echo(f"ccprompt {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
):
    """ccprompt: is the path to the Claude API healthy, and if not, why?"""


@app.command()
def probe(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Phase waterfall and every fact behind the verdict."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as one JSON object."),
    timeout_ms: Optional[int] = typer.Option(None, "--timeout-ms", min=1, max=60000, help="Give up after this long."),
    no_write: bool = typer.Option(False, "--no-write", help="Do not record the result."),
):
    """Probe the API now and record the result.

    Exit 0: the API answered and is healthy or degraded; 1: error; 2: usage or config error.
    """
    from ccprompt import fastcmd

    raise typer.Exit(fastcmd.probe_command(verbose, as_json, timeout_ms, no_write))


@app.command()
def statusline(sync: bool = typer.Option(False, "--sync", help="Wait for a due probe instead of detaching it.")):
    """Claude Code's statusLine command: reads the session JSON on stdin, prints the line."""
    from ccprompt.statusline import main as statusline_main

    raise typer.Exit(statusline_main(["--sync"] if sync else []))


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="Print the whole state as JSON."),
    style: Style = typer.Option(Style.full, "--style", help="icon, short or full."),
):
    """Show the current state without probing."""
    from ccprompt import fastcmd

    raise typer.Exit(fastcmd.status((["--json"] if as_json else []) + ["--style", style.value]))


@app.command()
def refresh(
    sync: bool = typer.Option(False, "--sync", help="Wait for the lock and the probe."),
    mode: Optional[str] = typer.Option(None, "--mode", hidden=True),
    session: Optional[str] = typer.Option(None, "--session", hidden=True),
    duration_ms: Optional[int] = typer.Option(None, "--duration-ms", hidden=True),
    transcript: Optional[str] = typer.Option(None, "--transcript", hidden=True),
):
    """Run the scheduler once: probe if one is due, under the cross-process lock."""
    from ccprompt import monitor

    result = monitor.refresh(session_id=session, duration_ms=duration_ms, transcript_path=transcript, sync=sync)
    if sync:
        typer.echo(f"{result.get('mode') or 'no probe'}: {result.get('reason')}")


@app.command()
def init(
    shell: Optional[str] = typer.Argument(None, help="bash, zsh or fish (detected when omitted)."),
    position: Position = typer.Option(Position.left, "--position", help="Where the segment goes."),
    style: Style = typer.Option(Style.short, "--style", help="icon, short or full."),
    no_refresh: bool = typer.Option(False, "--no-refresh", help="Never start a background refresh."),
):
    """Print the shell integration script: eval "$(ccprompt init zsh)"."""
    from ccprompt.shells import init_main

    args = ([shell] if shell else []) + ["--position", position.value, "--style", style.value]
    raise typer.Exit(init_main(args + (["--no-refresh"] if no_refresh else [])))


@install_app.command("statusline")
def install_statusline(dry_run: bool = typer.Option(False, "--dry-run", help="Show the change only.")):
    """Point Claude Code's statusLine at ccprompt (keeps every other setting, backs up the file)."""
    from ccprompt import settings

    try:
        from ccprompt.schedule import executable_argv

        raise typer.Exit(settings.install(executable_argv(), dry_run=dry_run))
    except settings.SettingsError as exc:
        fail(str(exc), 1)


@uninstall_app.command("statusline")
def uninstall_statusline(dry_run: bool = typer.Option(False, "--dry-run", help="Show the change only.")):
    """Remove ccprompt's statusLine entry from Claude Code's settings."""
    from ccprompt import settings

    try:
        raise typer.Exit(settings.uninstall(dry_run=dry_run))
    except settings.SettingsError as exc:
        fail(str(exc), 1)


@install_app.command("shell")
def install_shell(
    shell: Optional[str] = typer.Argument(None, help="bash, zsh or fish (detected when omitted)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the change only."),
):
    """Add the init line to your shell's rc file, in a marked block."""
    from ccprompt import shells

    raise typer.Exit(shells.install_shell(shell, dry_run=dry_run))


@uninstall_app.command("shell")
def uninstall_shell(
    shell: Optional[str] = typer.Argument(None, help="bash, zsh or fish (detected when omitted)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the change only."),
):
    """Remove ccprompt's marked block from your shell's rc file."""
    from ccprompt import shells

    raise typer.Exit(shells.uninstall_shell(shell, dry_run=dry_run))


def _register_operations():
    from ccprompt import opscli

    opscli.register(app)


_register_operations()


def run(argv: list) -> int:
    """Run the Typer app; turn any unexpected failure into one clear line and exit 1."""
    try:
        app(args=argv, prog_name="ccprompt", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from ccprompt.render import sanitize

        sys.stderr.write(f"ccprompt: {type(exc).__name__}: {sanitize(exc, 200)}\n")
        if os.environ.get("CCPROMPT_DEBUG"):
            import traceback

            traceback.print_exc()
        return 1
    return 0
