"""`ccprompt mcp` and `ccprompt install|uninstall mcp`: the MCP server, and registering it in Claude Code."""

from __future__ import annotations

from ccprompt.core.errors import CcpromptError


def mcp() -> int:
    try:
        from ccprompt.ops import mcp_server
    except ImportError as exc:
        from ccprompt.ops.doctor.mcpcheck import reinstall_hint

        raise CcpromptError(f"the MCP server needs the mcp package, a dependency of ccprompt that this "
                            f"installation lacks ({exc.name} is missing); fix: {reinstall_hint()}") from None
    return mcp_server.main()


def install_mcp(dry_run: bool = False) -> int:
    """Register the server, after it has answered an MCP `initialize` as Claude Code will send it."""
    from ccprompt.core.paths import executable_words
    from ccprompt.ops.doctor.mcpcheck import handshake, reinstall_hint
    from ccprompt.surfaces import claude_mcp

    argv = executable_words()
    problem, _ = handshake(argv + ["mcp"])
    if problem:
        raise CcpromptError(f"not registered: `{' '.join(argv + ['mcp'])}` does not work as an MCP server "
                            f"({problem}); fix: {reinstall_hint()}")
    return claude_mcp.install(argv, dry_run=dry_run)


def uninstall_mcp(dry_run: bool = False) -> int:
    from ccprompt.surfaces import claude_mcp

    return claude_mcp.uninstall(dry_run=dry_run)
