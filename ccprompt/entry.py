"""Fast dispatch: hot commands run on the standard library, everything else goes to Typer.

Importing Typer costs several times the interpreter's own start-up, so `statusline`,
`status`, `refresh`, `init` and the common forms of `probe` are routed here before it is
ever loaded. Their `--help`, and anything unusual, still goes to Typer.
"""

from __future__ import annotations

import sys

FAST = ("statusline", "status", "refresh", "init", "probe")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv else None
    if command in FAST and "--help" not in argv and "-h" not in argv:
        try:
            if command == "statusline":
                from ccprompt.statusline import main as statusline_main

                return statusline_main(argv[1:])
            if command == "init":
                from ccprompt.shells import init_main

                return init_main(argv[1:])
            from ccprompt import fastcmd

            result = fastcmd.run(command, argv[1:])
            if result is not None:
                return result
        except KeyboardInterrupt:
            return 130
    from ccprompt.cli import run

    return run(argv)
