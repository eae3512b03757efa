"""`ccprompt mcp` and `ccprompt install|uninstall mcp`: the MCP server, and registering it in Claude Code."""

from __future__ import annotations

from ccprompt.core.errors import CcpromptError


def mcp() -> int:
    try:
        from ccprompt.ops import mcp_server
    except ImportError as exc:
        raise CcpromptError(f"the MCP server needs the mcp package ({exc.name} is missing); "
                            "install it with: pip install 'ccprompt[mcp]'") from None
    return mcp_server.main()


def install_mcp(dry_run: bool = False) -> int:
    from ccprompt.core.paths import executable_words
    from ccprompt.surfaces import claude_mcp

    return claude_mcp.install(executable_words(), dry_run=dry_run)


def uninstall_mcp(dry_run: bool = False) -> int:
    from ccprompt.surfaces import claude_mcp

    return claude_mcp.uninstall(dry_run=dry_run)
