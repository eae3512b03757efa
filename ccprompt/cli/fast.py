"""A standard-library parser for the option table, used for the commands that run most often.

Importing Typer costs several times the interpreter's own start-up, so `statusline`,
`status`, `refresh`, `init`, `probe` and `run` are parsed here. Their `--help` goes to Typer
(for `run`, only a `--help` before the command: `ccprompt run claude --help` is claude's).
Errors read like Typer's, as one plain line.
"""

from __future__ import annotations

from ccprompt.cli.table import Command
from ccprompt.core.errors import UsageError


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
    return command.function()(**parse(command, args))
