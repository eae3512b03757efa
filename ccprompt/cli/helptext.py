"""Help text from the option table, on the standard library: `ccprompt --help`, a group's, a command's.

The layout follows click's (usage, description, options, commands) so it reads like the help
of the tools around it, but it costs nothing to import: `--help` is one of the cold commands.
"""

from __future__ import annotations

import os

from ccprompt.cli.table import COMMANDS, Command, groups

SUMMARY = "Claude API health in Claude Code's status line and your shell prompt."
GROUP_HELP = {
    "install": "Wire ccprompt into Claude Code or a shell.",
    "uninstall": "Remove what `ccprompt install` added.",
    "config": "Show or check the configuration.",
    "proxy": "Run the local proxy, or see and stop the running ones.",
}
HELP_FLAG = ("-h, --help", "Show this message and exit.")


def width(env=None) -> int:
    """Columns to wrap at: $COLUMNS, else the terminal's, at most 100."""
    env = os.environ if env is None else env
    try:
        columns = int(env.get("COLUMNS", ""))
    except ValueError:
        try:
            columns = os.get_terminal_size(1).columns
        except OSError:
            columns = 80
    return max(40, min(columns, 100))


def wrap(text: str, columns: int, indent: int = 0, first: int | None = None) -> list:
    """Words of `text` in lines of at most `columns`; every line but the first indented by `indent`."""
    lines, line = [], ""
    limit = columns - (indent if first is None else first)
    for word in text.split():
        if line and len(line) + 1 + len(word) > limit:
            lines.append(line)
            line, limit = word, columns - indent
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return [lines[0]] + [" " * indent + rest for rest in lines[1:]]


def paragraphs(text: str, columns: int) -> list:
    """A help text, two spaces in; a paragraph whose lines start with a word and a colon keeps its lines."""
    out = []
    for block in text.split("\n\n"):
        rows = block.split("\n")
        if len(rows) > 1:
            out.extend("  " + row for row in rows)
        else:
            out.extend("  " + line for line in wrap(block, columns - 2))
        out.append("")
    return out


def table(rows: list, columns: int) -> list:
    """Two columns: names, then their help wrapped beside them."""
    if not rows:
        return []
    left = min(max(len(name) for name, _ in rows), 26)
    out = []
    for name, text in rows:
        if len(name) > left:
            out.append(f"  {name}")
            out.extend(" " * (left + 4) + line for line in wrap(text, columns - left - 4))
            continue
        lines = wrap(text, columns - left - 4) if text else [""]
        out.append(f"  {name.ljust(left)}  {lines[0]}".rstrip())
        out.extend(" " * (left + 4) + line for line in lines[1:])
    return out


def _first_line(text: str) -> str:
    return text.split("\n\n")[0].split(". ")[0].rstrip(".") + "."


def option_rows(command: Command) -> list:
    rows = []
    for param in command.params:
        if param.hidden or param.positional:
            continue
        flags = ", ".join(sorted(param.flags, key=len))
        name = flags if param.kind == "flag" else f"{flags} {param.shown_metavar}"
        text = param.help
        if param.choices and param.metavar and "One of" not in text:
            text = f"{text} One of: {', '.join(param.choices)}."
        if param.kind != "flag" and param.default is not None and "default" not in text:
            text = f"{text} [default: {param.default}]"
        rows.append((name, text))
    return rows + [HELP_FLAG]


def usage(command: Command) -> str:
    words = ["Usage: ccprompt", *command.words]
    if any(not p.positional and not p.hidden for p in command.params):
        words.append("[OPTIONS]")
    for param in command.params:
        if param.positional:
            words.append(f"[{param.metavar or param.name.upper()}]..." if param.kind == "rest"
                         else f"[{param.metavar or param.name.upper()}]")
    return " ".join(words)


def command_help(command: Command, columns: int) -> str:
    out = [usage(command), ""] + paragraphs(command.help, columns)
    arguments = [(p.metavar or p.name.upper(), p.help) for p in command.params if p.positional]
    if arguments:
        out += ["Arguments:"] + table(arguments, columns) + [""]
    out += ["Options:"] + table(option_rows(command), columns)
    subcommands = groups().get(command.words[0], []) if len(command.words) == 1 else []
    if subcommands:
        out += ["", "Commands:"] + table([(c.words[1], _first_line(c.help)) for c in subcommands], columns)
    return "\n".join(out) + "\n"


def group_help(group: str, columns: int) -> str:
    members = groups()[group]
    out = [f"Usage: ccprompt {group} COMMAND [OPTIONS]", ""] + paragraphs(GROUP_HELP.get(group, ""), columns)
    out += ["Commands:"] + table([(c.words[1], _first_line(c.help)) for c in members], columns)
    out += ["", f"Run `ccprompt {group} COMMAND --help` for a command's options."]
    return "\n".join(out) + "\n"


def top_help(columns: int) -> str:
    rows, seen = [], set()
    for command in COMMANDS:
        word = command.words[0]
        if word in seen:
            continue
        seen.add(word)
        if len(command.words) == 2 or word in GROUP_HELP:
            rows.append((word, GROUP_HELP[word]))
        else:
            rows.append((word, _first_line(command.help)))
    out = ["Usage: ccprompt COMMAND [OPTIONS]", ""] + paragraphs(SUMMARY, columns)
    out += ["Options:"] + table([("-V, --version", "Show the version."), HELP_FLAG], columns)
    out += ["", "Commands:"] + table(rows, columns)
    out += ["", "Run `ccprompt COMMAND --help` for a command's options; `ccprompt doctor` checks every link."]
    return "\n".join(out) + "\n"
