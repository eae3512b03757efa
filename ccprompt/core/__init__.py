"""The ground floor: typed state, validated config, paths, files and the pure rules (standard library only).

The one error type lives here, in the package itself, so raising it costs the hot path no
extra module; `ccprompt.core.errors` names the same classes.
"""


class CcpromptError(Exception):
    """A failure the user can act on. `exit_code` 1 for a failure, 2 for a usage or config error."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(CcpromptError):
    """A bad command line."""

    exit_code = 2
