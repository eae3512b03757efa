"""`ccprompt statusline`: Claude Code's statusLine command."""

from __future__ import annotations


def statusline(sync: bool = False, segment: str | None = None, keep: bool = False, preview: bool = False) -> int:
    """Print the status line for the session JSON on stdin; always a line, always exit 0.

    `--keep` (written by `install statusline --keep`): the user's own statusLine, then our segment.
    `--preview`: every state from built-in samples, for a user deciding whether to install it."""
    if preview:
        import sys

        from ccprompt.commands.common import color_for
        from ccprompt.core.paths import Paths
        from ccprompt.surfaces.preview import preview as show

        sys.stdout.write(show(color_for(sys.stdout, Paths().env)))
        return 0
    if keep:
        from ccprompt.surfaces.keepline import main as keepline

        return keepline()
    from ccprompt.surfaces.statusline import main

    return main((["--sync"] if sync else []) + (["--segment", segment] if segment else []))
