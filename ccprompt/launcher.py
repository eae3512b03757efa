"""Writes the lean `ccprompt` launcher that install.sh puts in the virtualenv.

pip's generated console script imports `re` before doing anything, which on a slow
machine costs as much as starting Python. This launcher runs the same entry point with
`-I` (ignore PYTHON* variables and the user's site directory) and nothing else imported.
"""

from __future__ import annotations

import sys

TEMPLATE = """#!{python} -I
import sys
from ccprompt.entry import main
sys.exit(main())
"""


def write(path: str, python: str | None = None) -> None:
    from ccprompt.core.files import atomic_write, encode

    python = python or sys.executable
    # A new file with an unpredictable name (O_EXCL, O_NOFOLLOW), made 0755 through its
    # descriptor, then renamed over `path`.
    atomic_write(path, encode(TEMPLATE.format(python=python)), 0o755)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python -m ccprompt.launcher PATH\n")
        sys.exit(2)
    write(sys.argv[1])
