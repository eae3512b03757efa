"""The command line's parser, on the standard library: every command, its help and its errors.

Importing Typer costs several times the interpreter's own start-up, so argv is parsed here
from the option table, and `--help` is rendered from it by `cli.helptext`. The Typer app in
`cli.app`, built from the same table, is the reference a test holds this parser to.
A `--help` after `run`'s command is that command's own: `ccprompt run claude --help`.
Errors read like click's, as one plain line.
"""

from __future__ import annotations

import sys

from ccprompt.cli.table import Command
from ccprompt.core.errors import UsageError

HELP_WORDS = ("--help", "-h")


class HelpWanted(Exception):
    """`-h` or `--help` among a command's options."""


def parse(command: Command, args: list) -> dict:
    """Keyword arguments for the command's function; raises UsageError for a bad command line."""
    values = {param.name: param.default for param in command.params}
    by_flag = {flag: param for param in command.params for flag in param.flags}
    positionals = [param for param in command.params if param.positional]
    i = 0
    only_positional = False
    while i < len(args):
        arg = args[i]
        if positionals and positionals[0].kind == "rest" and (only_positional or arg in ("--", "-")
                                                               or not arg.startswith("-")):
            # Everything from here on is the command's own argv, options included.
            if arg == "--" and not only_positional:
                i += 1
            values[positionals.pop(0).name] = list(args[i:])
            break
        i += 1
        if arg == "--" and not only_positional:
            only_positional = True
            continue
        if arg.startswith("-") and arg != "-" and not only_positional:
            flag, eq, inline = arg.partition("=")
            if flag in HELP_WORDS:
                raise HelpWanted()
            param = by_flag.get(flag)
            if param is None:
                raise UsageError(f"No such option: {flag}")
            if param.kind == "flag":
                if eq:
                    raise UsageError(f"Option '{flag}' does not take a value.")
                values[param.name] = True
                continue
            if eq:
                raw = inline
            elif param.bare is not None and (i >= len(args) or (args[i].startswith("-") and args[i] != "-")):
                raw = param.bare  # `--serve` alone, or followed by another option
            elif i < len(args):
                raw = args[i]
                i += 1
            else:
                raise UsageError(f"Option '{flag}' requires an argument.")
            values[param.name] = convert(param, raw, flag)
            continue
        if not positionals:
            raise UsageError(f"Got unexpected extra argument ({arg})")
        param = positionals.pop(0)
        values[param.name] = convert(param, arg, param.name.upper())
    return values


def convert(param, raw, shown: str):
    """The value of one option or argument, checked against its kind and range."""
    if param.kind == "rest":
        return list(raw)
    where = f"Invalid value for '{shown}'"
    if param.kind == "choice":
        if raw not in param.choices and param.invalid:
            raise UsageError(param.invalid.format(value=raw))
        if raw not in param.choices:
            choices = ", ".join(repr(c) for c in param.choices)
            raise UsageError(f"{where}: {raw!r} is not one of {choices}.")
        return raw
    if param.kind in ("int", "float"):
        try:
            value = int(raw) if param.kind == "int" else float(raw)
        except ValueError:
            kind = "integer" if param.kind == "int" else "float"
            raise UsageError(f"{where}: {raw!r} is not a valid {kind}.") from None
        if param.kind == "float" and (value != value or value in (float("inf"), float("-inf"))):
            raise UsageError(f"{where}: {raw!r} is not a finite number.")
        if param.low is not None and value < param.low or param.high is not None and value > param.high:
            raise UsageError(f"{where}: {value} is not in the range {_range(param)}.")
        return value
    return raw


def _range(param) -> str:
    if param.low is not None and param.high is not None:
        return f"{param.low}<=x<={param.high}"
    if param.low is not None:
        return f"x>={param.low}"
    return f"x<={param.high}"


def run(command: Command, args: list) -> int:
    try:
        values = parse(command, args)
    except HelpWanted:
        from ccprompt.cli import helptext

        sys.stdout.write(helptext.command_help(command, helptext.width()))
        return 0
    return command.function()(**values)


def main(argv: list) -> int:
    """Find the command in argv and run it; help for `ccprompt`, a group, or `-h` anywhere."""
    from ccprompt.cli import table

    command, rest = table.find(argv)
    if command is not None:
        return run(command, rest)
    from ccprompt.cli import helptext

    if not argv or argv[0] in HELP_WORDS:
        sys.stdout.write(helptext.top_help(helptext.width()))
        return 0
    groups = table.groups()
    if argv[0] in groups:
        if len(argv) == 1 or argv[1] in HELP_WORDS:
            sys.stdout.write(helptext.group_help(argv[0], helptext.width()))
            return 0
        names = [c.words[1] for c in groups[argv[0]]]
        raise UsageError(f"No such command '{argv[0]} {argv[1]}'.{_did_you_mean(argv[1], names)}"
                         f" See 'ccprompt {argv[0]} --help'.")
    if argv[0].startswith("-"):
        raise UsageError(f"No such option: {argv[0]}")
    names = sorted({c.words[0] for c in table.COMMANDS})
    raise UsageError(f"No such command '{argv[0]}'.{_did_you_mean(argv[0], names)} See 'ccprompt --help'.")


def _did_you_mean(word: str, names) -> str:
    from difflib import get_close_matches

    close = get_close_matches(word, names, n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""
