"""Operations commands (watch, history, metrics, doctor), registered on the Typer app."""

from __future__ import annotations


def register(app) -> None:
    """Add the operations commands to `app`."""
