"""`ccprompt install|uninstall statusline|shell`: wire ccprompt into Claude Code and the shells."""

from __future__ import annotations

import os
import sys


def install_statusline(dry_run: bool = False, keep: bool = False) -> int:
    from ccprompt.core.paths import executable_words
    from ccprompt.surfaces import claude_settings

    return claude_settings.install(executable_words(), dry_run=dry_run, keep=keep)


def uninstall_statusline(dry_run: bool = False) -> int:
    from ccprompt.surfaces import claude_settings

    return claude_settings.uninstall(dry_run=dry_run)


def install_shell(shell: str | None = None, dry_run: bool = False, position: str | None = None,
                  style: str | None = None) -> int:
    from ccprompt.surfaces.shell import rcfile

    return rcfile.install_shell(shell, dry_run=dry_run, position=position, style=style)


def uninstall_shell(shell: str | None = None, dry_run: bool = False) -> int:
    from ccprompt.surfaces.shell import rcfile

    return rcfile.uninstall_shell(shell, dry_run=dry_run)


def uninstall_all(purge: bool = False, dry_run: bool = False) -> int:
    """Unwire everything (status line, every shell's block, the MCP entry), then say what is
    left; with --purge remove ccprompt's own leftovers (never a file ccprompt did not create)."""
    from ccprompt.commands.mcp import uninstall_mcp
    from ccprompt.surfaces import claude_mcp, claude_settings, leftovers

    codes = [uninstall_statusline(dry_run=dry_run), uninstall_shell(None, dry_run=dry_run),
             uninstall_mcp(dry_run=dry_run)]
    found = leftovers.survey((claude_settings.settings_path(), claude_mcp.config_path()))
    home = os.path.expanduser("~")

    def short(path):
        return "~" + path[len(home):] if home != "/" and path.startswith(home + "/") else path

    def listing(rows):
        width = min(max(len(short(p)) for p, _ in rows), 60)
        return "".join(f"  {short(p):<{width}}  {what}\n" for p, what in rows)

    if found["ours"] and purge and not dry_run:
        problems = leftovers.purge(found)
        failed = {path for path, _ in problems}
        done = [(p, w) for p, w in found["ours"] if p not in failed]
        if done:
            sys.stdout.write("removed ccprompt's own leftovers:\n" + listing(done))
        for path, reason in problems:
            sys.stderr.write(f"ccprompt: cannot remove {path}: {reason}\n")
        codes.append(1 if problems else 0)
    elif found["ours"]:
        head = "would remove (dry run):" if purge else \
            "left behind, ccprompt's own (`ccprompt uninstall all --purge` removes them):"
        sys.stdout.write(f"{head}\n" + listing(found["ours"]))
    else:
        print("nothing of ccprompt's own is left behind")
    if found["kept"]:
        sys.stdout.write("kept, yours:\n" + listing(found["kept"]))
    return max(codes)
