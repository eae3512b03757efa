"""Writes the lean `ccprompt` launcher that install.sh puts in the virtualenv.

pip's generated console script imports `re` before doing anything, which on a slow
machine costs as much as starting Python. This launcher runs the same entry point with
`-I` (ignore PYTHON* variables and the user's site directory) and `-S` (skip `site`,
which alone costs a quarter of the interpreter's start in a virtualenv): the directories
`site` would add are written into the launcher instead, once, at install time. No `.pth`
file is processed, so the launcher is for a regular (non-editable) install.
"""

from __future__ import annotations

import sys

TEMPLATE = """#!{python} -IS
import sys
sys.path.extend({paths!r})
from ccprompt.entry import main
sys.exit(main())
"""


def import_paths() -> list:
    """Where this interpreter finds ccprompt and its dependencies without `site`."""
    import os
    import site

    from ccprompt.core.paths import package_parent

    paths = [p for p in site.getsitepackages() if os.path.isdir(p)]
    parent = package_parent()
    if parent not in paths:
        paths.insert(0, parent)
    return paths


def write(path: str, python: str | None = None) -> None:
    from ccprompt.core.files import atomic_write, encode

    python = python or sys.executable
    # A new file with an unpredictable name (O_EXCL, O_NOFOLLOW), made 0755 through its
    # descriptor, then renamed over `path`.
    atomic_write(path, encode(TEMPLATE.format(python=python, paths=import_paths())), 0o755)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python -m ccprompt.launcher PATH\n")
        sys.exit(2)
    write(sys.argv[1])
