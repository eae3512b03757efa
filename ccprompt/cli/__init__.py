"""Argument parsing: a declarative option table, a standard-library parser for it, and the Typer app."""
