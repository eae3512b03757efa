"""The Typer app, built from the option table: the reference the standard-library parser is held to.

`ccprompt` itself parses with `cli.fast` (Typer costs several times the interpreter's
start-up to import); tests run the same argv through this app and the fast parser and
expect the same call or the same one-line error. `python -m ccprompt.cli.app ARGS` runs it.
"""

from __future__ import annotations

import inspect
from typing import List, Optional

import typer

from ccprompt import __version__
from ccprompt.cli.fast import convert
from ccprompt.cli.table import COMMANDS, Command, Param
from ccprompt.core.errors import UsageError

try:  # Typer 0.20 and later carry their own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older Typer with click installed
    from click import exceptions as click_errors

from ccprompt.cli.helptext import GROUP_HELP


def _typer_param(param: Param):
    """(annotation, default) for one table entry: flags are bools, everything else text that
    `fast.convert` checks, so both parsers accept and refuse exactly the same values."""
    if param.kind == "flag":
        return bool, typer.Option(param.default, *param.flags, help=param.help, hidden=param.hidden)
    if param.kind == "rest":
        return Optional[List[str]], typer.Argument(None, help=param.help, metavar=param.shown_metavar,
                                                   show_default=False)
    shown = None if param.default is None else str(param.default)
    if param.positional:
        return Optional[str], typer.Argument(shown, help=param.help, metavar=param.shown_metavar,
                                             show_default=False)
    return Optional[str], typer.Option(shown, *param.flags, help=param.help, hidden=param.hidden,
                                       metavar=param.shown_metavar, show_default=shown is not None)


def _callback(command: Command):
    def call(**kwargs):
        values = {}
        for param in command.params:
            value = kwargs.get(param.name)
            if param.kind == "rest":
                value = list(value or ())
            elif param.kind != "flag" and isinstance(value, str) and value != _shown_default(param):
                shown = param.flags[0] if param.flags else param.name.upper()
                value = convert(param, value, shown)
            elif param.kind != "flag":
                value = param.default
            values[param.name] = value
        raise typer.Exit(command.function()(**values))

    parameters = []
    for param in command.params:
        annotation, default = _typer_param(param)
        parameters.append(inspect.Parameter(param.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=annotation))
    call.__signature__ = inspect.Signature(parameters)
    call.__doc__ = command.help
    call.__name__ = command.words[-1]
    return call


def _group_callback(command: Command):
    run_command = _callback(command)

    def call(ctx: typer.Context, **kwargs):
        if ctx.invoked_subcommand is None:
            run_command(**kwargs)

    call.__signature__ = inspect.Signature(
        [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)]
        + list(inspect.signature(run_command).parameters.values()))
    call.__doc__ = command.help
    return call


def _shown_default(param: Param):
    return None if param.default is None else str(param.default)


def _version(value: bool):
    if value:
        typer.echo(f"ccprompt {__version__}")
        raise typer.Exit()


def build() -> typer.Typer:
    app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                      rich_markup_mode=None, help="Claude API health in Claude Code's status line and your shell prompt.")

    @app.callback()
    def main(version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                          help="Show the version.")):
        """ccprompt: is the path to the Claude API healthy, and if not, why?"""

    groups = {}
    plain = {c.words[0]: c for c in COMMANDS if len(c.words) == 1}
    for command in COMMANDS:
        target = app
        if len(command.words) == 2:
            group = command.words[0]
            if group not in groups:
                own = plain.get(group)  # `config` runs itself; `config check` is its subcommand
                groups[group] = typer.Typer(no_args_is_help=own is None, help=GROUP_HELP.get(group, ""))
                if own is not None:
                    groups[group].callback(invoke_without_command=True)(_group_callback(own))
                app.add_typer(groups[group], name=group)
            target = groups[group]
        elif command.words[0] in {c.words[0] for c in COMMANDS if len(c.words) == 2}:
            continue
        settings = {}
        if any(param.kind == "rest" for param in command.params):
            # The command's own options are its own: `ccprompt run claude --model x`.
            settings = {"allow_extra_args": True, "ignore_unknown_options": True}
        target.command(command.words[-1], help=command.help, context_settings=settings)(_callback(command))
    return app


def click_command(app: typer.Typer | None = None):
    return typer.main.get_command(app or build())


def takes_rest(argv: list):
    """The table's command when argv names one whose argument list is another command's argv
    (`ccprompt run claude --help`: the `--help` is claude's, not ours), else None."""
    from ccprompt.cli.table import find

    command, rest = find(argv)
    if command is None or not any(p.kind == "rest" for p in command.params):
        return None
    if not rest or rest[0] in ("--help", "-h"):
        return None
    return command, rest


def with_bare_values(argv: list) -> list:
    """argv with the value of an option given alone (`--serve`) written in, as `fast.parse`
    reads it: click has no option whose value may be left out."""
    from ccprompt.cli.table import find

    command, rest = find(argv)
    bare = {flag: p.bare for p in command.params if p.bare is not None for flag in p.flags} if command else {}
    if not bare:
        return argv
    head = argv[:len(argv) - len(rest)]
    out = []
    for i, word in enumerate(rest):
        out.append(word)
        if word in bare and (i + 1 == len(rest) or (rest[i + 1].startswith("-") and rest[i + 1] != "-")):
            out.append(bare[word])
    return head + out


def run(argv: list) -> int:
    """Parse with Typer and run; a usage error becomes UsageError (one line, exit 2)."""
    passthrough = takes_rest(argv)
    if passthrough is not None:
        from ccprompt.cli import fast

        return fast.run(*passthrough)
    command = click_command()
    try:
        result = command.main(args=with_bare_values(list(argv)) or ["--help"], prog_name="ccprompt", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else "")
        return 0
    except click_errors.UsageError as exc:
        raise UsageError(exc.format_message()) from None
    except typer.Abort:
        raise KeyboardInterrupt from None
    except typer.Exit as exc:
        return exc.exit_code
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    import sys

    sys.exit(run(sys.argv[1:]))
