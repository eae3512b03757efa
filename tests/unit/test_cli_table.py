"""One option table: the Typer app and the fast parser declare exactly the same commands and options."""

from __future__ import annotations

import inspect

import pytest

from ccprompt.cli import app, fast, table
from ccprompt.core.errors import UsageError

CLICK = app.click_command()


def click_command_for(words):
    command = CLICK
    for word in words:
        command = command.commands[word]
    return command


@pytest.mark.parametrize("command", table.COMMANDS, ids=lambda c: c.name)
def test_the_typer_app_declares_what_the_table_declares(command):
    declared = click_command_for(command.words)
    params = {p.name: p for p in declared.params if p.name != "help"}
    assert set(params) == {p.name for p in command.params}
    for param in command.params:
        typer_param = params[param.name]
        if param.positional:
            assert typer_param.param_type_name == "argument"
        else:
            assert typer_param.param_type_name == "option"
            assert set(typer_param.opts) | set(typer_param.secondary_opts) == set(param.flags)
            assert typer_param.hidden == param.hidden
            assert typer_param.is_flag == (param.kind == "flag")
        default = typer_param.default
        expected = param.default if param.kind == "flag" or param.default is None else str(param.default)
        assert default == expected, (param.name, default, expected)


@pytest.mark.parametrize("command", table.COMMANDS, ids=lambda c: c.name)
def test_each_command_function_takes_exactly_the_tables_parameters(command):
    signature = inspect.signature(command.function())
    assert list(signature.parameters) == [p.name for p in command.params]
    for param in command.params:
        assert signature.parameters[param.name].default == param.default, param.name


def test_the_app_has_no_command_outside_the_table():
    declared = set()
    for name, command in CLICK.commands.items():
        if hasattr(command, "commands"):
            declared |= {(name, sub) for sub in command.commands}
            if command.params:  # a group that is also a command: `config` and `config check`
                declared.add((name,))
        else:
            declared.add((name,))
    assert declared == {c.words for c in table.COMMANDS}


@pytest.mark.parametrize("argv, message", [
    (["probe", "--timeout-ms", "0"], "Invalid value for '--timeout-ms': 0 is not in the range 1<=x<=60000."),
    (["probe", "--timeout-ms", "soon"], "Invalid value for '--timeout-ms': 'soon' is not a valid integer."),
    (["probe", "--bogus"], "No such option: --bogus"),
    (["status", "--style", "huge"], "Invalid value for '--style': 'huge' is not one of 'icon', 'short', 'full'."),
    (["history", "--limit", "-1"], "Invalid value for '--limit': -1 is not in the range x>=0."),
    (["watch", "--interval", "0.5"], "Invalid value for '--interval': 0.5 is not in the range x>=1.0."),
])
def test_both_parsers_refuse_a_bad_value_with_the_same_line(argv, message, capsys):
    from ccprompt.entry import main

    command, rest = table.find(argv)
    with pytest.raises(UsageError) as caught:
        fast.parse(command, rest)
    assert str(caught.value) == message
    with pytest.raises(UsageError) as caught:
        app.run(argv)  # the reference: click may add its own suggestion after the same words
    assert str(caught.value).split(" (Possible options:")[0] == message
    assert main(argv) == 2
    _, err = capsys.readouterr()
    assert err == f"ccprompt: {message}\n"


RUN = next(c for c in table.COMMANDS if c.words == ("run",))


@pytest.mark.parametrize("args, expected", [
    (["claude"], ["claude"]),
    (["claude", "--model", "opus", "-p", "hi"], ["claude", "--model", "opus", "-p", "hi"]),
    (["--", "claude", "--help"], ["claude", "--help"]),
    (["--", "--odd-name", "-x"], ["--odd-name", "-x"]),
    (["claude", "--", "x"], ["claude", "--", "x"]),
    ([], None),
])
def test_a_rest_argument_takes_every_remaining_word(args, expected):
    assert fast.parse(RUN, args) == {"command": expected}


def test_options_before_a_rest_argument_are_still_checked():
    with pytest.raises(UsageError, match="No such option: --model"):
        fast.parse(RUN, ["--model", "x", "claude"])


@pytest.fixture
def calls(monkeypatch):
    seen = []
    monkeypatch.setattr("ccprompt.commands.run.run", lambda command=None: seen.append(command) or 0)
    return seen


@pytest.mark.parametrize("argv", [
    ["run", "claude", "--model", "opus", "-p", "hi"],
    ["run", "--", "claude", "--model", "opus", "-p", "hi"],
])
def test_typer_and_the_fast_parser_hand_run_the_same_argv(argv, calls):
    from ccprompt.entry import main

    CLICK.main(args=argv, prog_name="ccprompt", standalone_mode=False)
    assert main(argv) == 0
    assert calls == [["claude", "--model", "opus", "-p", "hi"]] * 2


def test_a_help_option_after_the_command_is_the_commands_own(calls, capsys):
    from ccprompt.cli import app as app_module
    from ccprompt.entry import main

    assert main(["run", "claude", "--help"]) == 0
    assert app_module.run(["run", "claude", "-h"]) == 0
    assert calls == [["claude", "--help"], ["claude", "-h"]]
    assert main(["run", "--help"]) == 0
    assert "[COMMAND]..." in capsys.readouterr().out
    assert calls == [["claude", "--help"], ["claude", "-h"]]


def test_init_takes_wrap_claude_in_both_parsers(monkeypatch):
    seen = []
    monkeypatch.setattr("ccprompt.commands.init.init", lambda **kw: seen.append(kw) or 0)
    init = next(c for c in table.COMMANDS if c.words == ("init",))
    assert fast.parse(init, ["zsh", "--wrap-claude"])["wrap_claude"] is True
    CLICK.main(args=["init", "zsh", "--wrap-claude"], prog_name="ccprompt", standalone_mode=False)
    assert seen[0]["wrap_claude"] is True and seen[0]["shell"] == "zsh"


@pytest.mark.parametrize("argv, ours", [
    (["run", "--help"], True),
    (["run", "-h"], True),
    (["run", "claude", "--help"], False),
    (["run", "--", "--help"], False),
    (["probe", "--json", "--help"], True),
])
def test_help_is_ours_only_before_the_command_run_runs(argv, ours):
    command, rest = table.find(argv)
    try:
        fast.parse(command, rest)
    except fast.HelpWanted:
        asked = True
    else:
        asked = False
    assert asked is ours


@pytest.mark.parametrize("args, serve, by_session", [
    (["--serve"], "127.0.0.1:9464", False),
    (["--serve", "--by-session"], "127.0.0.1:9464", True),
    (["--by-session", "--serve"], "127.0.0.1:9464", True),
    (["--serve", ":9999"], ":9999", False),
    (["--serve=9999"], "9999", False),
])
def test_a_bare_serve_means_the_default_address_in_both_parsers(args, serve, by_session, monkeypatch):
    seen = []
    monkeypatch.setattr("ccprompt.commands.metrics.metrics", lambda **kw: seen.append(kw) or 0)
    metrics = next(c for c in table.COMMANDS if c.words == ("metrics",))
    parsed = fast.parse(metrics, args)
    assert (parsed["serve"], parsed["by_session"]) == (serve, by_session)
    assert app.run(["metrics", *args]) == 0  # Typer, as `ccprompt metrics` runs it
    assert (seen[0]["serve"], seen[0]["by_session"]) == (serve, by_session)
