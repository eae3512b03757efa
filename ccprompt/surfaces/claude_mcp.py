"""`ccprompt install|uninstall mcp`: ccprompt's MCP server in Claude Code's user-scope configuration.

Claude Code keeps user-scope MCP servers (`claude mcp add --scope user`) in `~/.claude.json`
(`$CLAUDE_CONFIG_DIR/.claude.json` when that is set), under the top-level `mcpServers`,
as `{"type": "stdio", "command": …, "args": […], "env": {}}`. The file holds much more
(projects, onboarding, history), so it is edited the way settings.json is: every other
key kept, written atomically by compare-and-swap, and the previous file backed up.
"""

from __future__ import annotations

import os
import sys

from ccprompt.surfaces import jsonfile

SERVER_NAME = "ccprompt"


def config_path(env=None) -> str:
    env = os.environ if env is None else env
    from ccprompt.core.paths import Paths

    paths = Paths(env)
    configured = env.get("CLAUDE_CONFIG_DIR")
    if configured:
        return os.path.join(paths.claude_dir, ".claude.json")
    return os.path.join(paths.home, ".claude.json")


def entry_for(executable_argv: list) -> dict:
    return {"type": "stdio", "command": executable_argv[0], "args": list(executable_argv[1:]) + ["mcp"], "env": {}}


def is_ours(entry) -> bool:
    if not isinstance(entry, dict):
        return False
    words = [str(entry.get("command", ""))] + [str(a) for a in entry.get("args") or []]
    return bool(words) and words[-1] == "mcp" and any("ccprompt" in word for word in words)


def install(executable_argv: list, dry_run: bool = False, env=None, out=None) -> int:
    if dry_run:
        return _install(executable_argv, True, env, out or sys.stdout)
    with jsonfile.serialized(config_path(env)):
        return _install(executable_argv, False, env, out or sys.stdout)


def _install(executable_argv: list, dry_run: bool, env, out) -> int:
    path = config_path(env)
    wanted = entry_for(executable_argv)
    current, _, _, _ = jsonfile.load(os.path.realpath(path))
    jsonfile.refuse_shape(path, "mcpServers", current.get("mcpServers"))
    servers = current.get("mcpServers") or {}
    if servers.get(SERVER_NAME) == wanted:
        out.write(f"the ccprompt MCP server is already in {path}; nothing to change\n")
        return 0
    if dry_run:
        import json

        out.write(f"would set mcpServers.{SERVER_NAME} in {path} to:\n{json.dumps(wanted, indent=2)}\n")
        return 0

    def change(fresh: dict) -> bool:
        table = fresh.get("mcpServers")
        jsonfile.refuse_shape(path, "mcpServers", table)
        if table is None:
            table = fresh["mcpServers"] = {}
        if table.get(SERVER_NAME) == wanted:
            return False
        table[SERVER_NAME] = wanted
        return True

    _, backup, _ = jsonfile.edit(path, change)
    note = f" (backup: {backup})" if backup else ""
    out.write(f"registered the ccprompt MCP server (user scope) in {path}{note}; "
              f"restart Claude Code, then /mcp lists it\n")
    return 0


def uninstall(dry_run: bool = False, env=None, out=None) -> int:
    if dry_run:
        return _uninstall(True, env, out or sys.stdout)
    with jsonfile.serialized(config_path(env)):
        return _uninstall(False, env, out or sys.stdout)


def _uninstall(dry_run: bool, env, out) -> int:
    path = config_path(env)
    current, _, _, _ = jsonfile.load(os.path.realpath(path))
    servers = current.get("mcpServers") if isinstance(current.get("mcpServers"), dict) else {}
    if not is_ours(servers.get(SERVER_NAME)):
        out.write(f"no ccprompt MCP server in {path}; nothing to change\n")
        return 0
    if dry_run:
        out.write(f"would remove mcpServers.{SERVER_NAME} from {path}\n")
        return 0

    def change(fresh: dict) -> bool:
        table = fresh.get("mcpServers")
        if not isinstance(table, dict) or not is_ours(table.get(SERVER_NAME)):
            return False
        del table[SERVER_NAME]
        return True

    _, backup, _ = jsonfile.edit(path, change)
    note = f" (backup: {backup})" if backup else ""
    out.write(f"removed the ccprompt MCP server from {path}{note}\n")
    return 0
