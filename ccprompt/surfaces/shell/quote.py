"""Quoting one word for the shell that will read it."""

from __future__ import annotations


def _bare(word: str) -> bool:
    safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+=,-"
    return bool(word) and all(ch in safe for ch in word)


def posix_quote(word: str) -> str:
    """One word for bash/zsh/sh, single-quoted unless plainly safe."""
    if _bare(word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"


def fish_quote(word: str) -> str:
    """One word for fish, whose single quotes honour \\\\ and \\'."""
    if _bare(word):
        return word
    return "'" + word.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_for(shell: str):
    return fish_quote if shell == "fish" else posix_quote
