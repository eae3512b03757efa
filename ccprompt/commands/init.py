"""`ccprompt init`: print the shell integration script."""

from __future__ import annotations

def init(shell: str | None = None, position: str = "left", style: str = "short", no_refresh: bool = False,
         wrap_claude: bool = False) -> int:
    """Print the script for `eval`. On any failure stdout stays empty, so `eval` does nothing."""
    from ccprompt.core.errors import CcpromptError
    from ccprompt.surfaces.shell import init as shell_init

    if shell is None:
        shell = shell_init.detect_shell()
    try:
        script = shell_init.init_script(shell, position, style, not no_refresh, wrap_claude=wrap_claude)
    except CcpromptError:
        raise
    except Exception as exc:  # never a traceback into someone's `eval`
        raise CcpromptError(f"init: cannot build the {shell} script: {exc}") from None
    shell_init.emit(script)
    return 0
