"""Writes the lean `ccprompt` launcher that install.sh puts in the virtualenv.

pip's generated console script imports `re` before doing anything, which on a slow
machine costs as much as starting Python. This launcher runs the same entry point with
`-I` (ignore PYTHON* variables and the user's site directory) and nothing else imported.
"""

from __future__ import annotations

import os
import sys

TEMPLATE = """#!{python} -I
import sys
from ccprompt.entry import main
sys.exit(main())
"""


def write(path: str, python: str | None = None) -> None:
    python = python or sys.executable
    temp = f"{path}.{os.getpid()}.tmp"
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(TEMPLATE.format(python=python))
    os.chmod(temp, 0o755)
    os.replace(temp, path)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python -m ccprompt.launcher PATH\n")
        sys.exit(2)
    write(sys.argv[1])
