"""`ccprompt install|uninstall statusline|shell`: wire ccprompt into Claude Code and the shells."""

from __future__ import annotations


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
