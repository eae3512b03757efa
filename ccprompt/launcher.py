"""Writes the lean `ccprompt` launcher that install.sh puts in the virtualenv.

pip's generated console script imports `re` before doing anything, which on a slow
machine costs as much as starting Python. This launcher runs the same entry point with
`-I` (ignore PYTHON* variables and the user's site directory) and `-S` (skip `site`,
which alone costs a quarter of the interpreter's start in a virtualenv): the directories
`site` would add are written into the launcher instead, once, at install time. No `.pth`
file is processed, so the launcher is for a regular (non-editable) install.

For `ccprompt statusline`, run on every redraw of Claude Code, the launcher also runs the
status line's modules from one file written next to it at install time (`<launcher>.hotpath`:
their code, compiled, with each source's mtime and size). Finding, checking and reading
twenty modules one by one through importlib costs about as much as running them; one read
of one file does not. The file is used only when the interpreter's bytecode magic and every
source's mtime and size still match, else the modules are imported as usual (an upgrade or an
edited source never runs stale code). A module missing from `HOT` is simply imported as usual.
A render is short and builds few cycles, so the preload turns the cyclic garbage collector off
(its passes over the freshly loaded code cost 1.1 M instructions a render), and `entry.leave`
ends the process without the interpreter's teardown once the line is written.
"""

from __future__ import annotations

import sys

TEMPLATE = """#!{python} -IS
import sys
sys.path.extend({paths!r})
if sys.argv[1:2] == ["statusline"]:
    try:
        with open({bundle!r}, "rb") as handle:
            data = handle.read()
        if data[:4] == sys.modules["_frozen_importlib_external"].MAGIC_NUMBER:
            from marshal import loads

            preload, items = loads(data[4:])
            exec(preload, {{"sys": sys, "items": items}})
    except Exception:
        pass
from ccprompt.entry import leave, main
leave(main())
"""
# Run from the `.hotpath` file (compiled there, so the launcher itself stays a few lines for
# Python to compile on each run): use the modules when every source is unchanged.
PRELOAD = """
from gc import disable
from posix import stat

disable()

for name, origin, package, mtime_ns, size, code in items:
    info = stat(origin)
    if info.st_mtime_ns != mtime_ns or info.st_size != size:
        break
else:
    modules, module = sys.modules, type(sys)
    for name, origin, package, mtime_ns, size, code in items:
        if name in modules:
            continue
        new = module(name)
        new.__file__ = origin
        parent, _, leaf = name.rpartition(".")
        new.__package__ = name if package else parent
        if package:
            new.__path__ = [origin.rpartition("/")[0]]
        modules[name] = new
        try:
            exec(code, new.__dict__)
        except BaseException:
            del modules[name]
            break
        if parent in modules:
            setattr(modules[parent], leaf, new)
"""
# The modules a steady status-line render runs, each after those it imports (a module missing
# here, or out of order, is imported as usual: slower, never wrong).
HOT = (
    "ccprompt", "ccprompt.core", "ccprompt.core.oslite", "ccprompt.entry", "ccprompt.surfaces",
    "ccprompt.core.fastjson", "ccprompt.core.files", "ccprompt.core.text", "ccprompt.core.model",
    "ccprompt.core.signal", "ccprompt.core.render", "ccprompt.core.statedir", "ccprompt.core.paths",
    "ccprompt.core.store", "ccprompt.core.configfast", "ccprompt.surfaces.statusline",
    "ccprompt.sources", "ccprompt.sources.transcript", "ccprompt.core.seen", "ccprompt.core.schedule",
)


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


def bundle(modules=HOT) -> bytes:
    """The compiled code of `modules` (those that exist), with each source's mtime and size."""
    import marshal
    from importlib.util import MAGIC_NUMBER, find_spec

    from ccprompt.core import oslite

    items = []
    for name in modules:
        try:
            spec = find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        with open(spec.origin, "rb") as handle:
            source = handle.read()
        info = oslite.stat(spec.origin)
        code = compile(source, spec.origin, "exec", dont_inherit=True)
        items.append((name, spec.origin, spec.submodule_search_locations is not None, info.st_mtime_ns,
                      info.st_size, code))
    preload = compile(PRELOAD, "<ccprompt preload>", "exec", dont_inherit=True)
    return MAGIC_NUMBER + marshal.dumps((preload, items))


def write(path: str, python: str | None = None) -> None:
    from ccprompt.core.files import atomic_write, encode

    python = python or sys.executable
    # New files with unpredictable names (O_EXCL, O_NOFOLLOW), the launcher made 0755 through
    # its descriptor, then renamed over `path` and `<path>.hotpath`.
    hotpath = path + ".hotpath"
    try:
        atomic_write(hotpath, bundle(), 0o644)
    except (OSError, SyntaxError, ValueError):
        hotpath = ""  # no preloading: the modules are imported as usual
    atomic_write(path, encode(TEMPLATE.format(python=python, paths=import_paths(), bundle=hotpath)), 0o755)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python -m ccprompt.launcher PATH\n")
        sys.exit(2)
    write(sys.argv[1])
