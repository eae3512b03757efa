"""`ccprompt statusline`: Claude Code's statusLine command."""

from __future__ import annotations


def statusline(sync: bool = False) -> int:
    """Print the status line for the session JSON on stdin; always a line, always exit 0."""
    from ccprompt.surfaces.statusline import main

    return main(["--sync"] if sync else [])
