"""Starting a probe in the background: `ccprompt refresh` detached, the credential only in the environment."""

from ccprompt.core import oslite
from ccprompt.core.paths import executable_words


def refresh_argv(session_id=None, duration_ms=None, transcript_path=None, model=None, not_before_ms=None) -> list:
    """`ccprompt refresh` with what the child needs to decide again under the lock, and the
    moment a probe falls due when it is started ahead of it."""
    argv = executable_words() + ["refresh"]
    if session_id:
        argv += ["--session", str(session_id)[:200]]
    if isinstance(duration_ms, (int, float)) and not isinstance(duration_ms, bool):
        argv += ["--duration-ms", str(int(duration_ms))]
    if transcript_path:
        argv += ["--transcript", str(transcript_path)]
    if model:
        argv += ["--model", str(model)[:100]]
    if isinstance(not_before_ms, int) and not isinstance(not_before_ms, bool) and not_before_ms > 0:
        argv += ["--not-before", str(not_before_ms)]
    return argv


def spawn(argv: list, env=None) -> int:
    """Start argv detached: a new session, stdio on /dev/null, no other inherited fds.

    Returns the pid, or 0 when it could not be started.
    """
    devnull = "/dev/null"
    actions = [
        (oslite.POSIX_SPAWN_OPEN, 0, devnull, oslite.O_RDONLY, 0),
        (oslite.POSIX_SPAWN_OPEN, 1, devnull, oslite.O_WRONLY, 0),
        (oslite.POSIX_SPAWN_OPEN, 2, devnull, oslite.O_WRONLY, 0),
    ]
    # posix_spawn has no close_fds: close every inherited descriptor above stderr.
    actions += [(oslite.POSIX_SPAWN_CLOSE, fd) for fd in _open_fds() if fd > 2]
    try:
        return oslite.posix_spawn(argv[0], argv, oslite.environ() if env is None else env, file_actions=actions,
                              setsid=True)
    except (OSError, AttributeError, TypeError, ValueError):
        return 0


def _open_fds() -> list:
    for directory in ("/proc/self/fd", "/dev/fd"):
        try:
            return sorted(int(name) for name in oslite.listdir(directory) if name.isdigit())
        except OSError:
            continue
    return []
