"""Doctor's report: the checks run in order within the budget, printed for people or as `--json`."""

from __future__ import annotations

import os
import sys
from dataclasses import asdict

from ccprompt.ops.doctor.registry import COLORS, FAIL, MARKS, OK, WARN, Deadline


def registry():
    """The registry with every check declared: `checks`, then `local` and `mcpcheck`, which join it."""
    from ccprompt.ops.doctor import mcpcheck

    return mcpcheck.registry


def run(env=None, deadline: Deadline | None = None) -> list:
    """Every check's result, in order."""
    from ccprompt.ops.doctor.context import Context

    return registry().run(Context(env, deadline))


def format_report(checks: list, color: bool = False) -> str:
    """The report for a terminal. Details and fixes quote servers, files and errors, so each
    passes `printable` here, the last step before the terminal, whatever a check did."""
    from ccprompt.core.text import printable

    width = max(len(c.title) for c in checks)
    lines = []
    for check in checks:
        mark = MARKS[check.level]
        if color:
            mark = f"\x1b[{COLORS[check.level]}m{mark}\x1b[0m"
        lines.append(f"{mark} {check.title:<{width}}  {printable(check.detail)}")
        if check.fix and check.level != OK:
            lines.append(f"  {'':<{width}}  fix: {printable(check.fix)}")
    failures, warnings = _count(checks, FAIL), _count(checks, WARN)
    lines.append("")
    if failures:
        lines.append(f"{_plural(failures, 'problem')}, {_plural(warnings, 'warning')}")
    else:
        lines.append("no problems" + (f", {_plural(warnings, 'warning')}" if warnings else ""))
    return "\n".join(lines)


def as_document(checks: list) -> dict:
    """The `--json` shape: ok, failures, warnings, and each check with its stable id."""
    return {"ok": not _count(checks, FAIL), "failures": _count(checks, FAIL), "warnings": _count(checks, WARN),
            "checks": [asdict(c) for c in checks]}


def main(as_json: bool = False, env=None) -> int:
    """Run every check and print the report; exit 0 when nothing is ✗, 1 otherwise."""
    checks = run(env)
    if as_json:
        import json

        from ccprompt.core.text import escape_invisible

        text = escape_invisible(json.dumps(as_document(checks), indent=2, ensure_ascii=False, default=str))
        sys.stdout.write(text + "\n")
    else:
        from ccprompt.core.render import use_color

        sys.stdout.write(format_report(checks, use_color(os.environ) and sys.stdout.isatty()) + "\n")
    return 1 if any(c.level == FAIL for c in checks) else 0


def _count(checks: list, level: str) -> int:
    return sum(c.level == level for c in checks)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
