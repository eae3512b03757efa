"""The state directory's rule for readers: a cache or persisted file is used only from a
state directory ccprompt would also write to (`files.unsafe_dir`: the user's own, writable
by nobody else), never through a symlink, and only when the file is the user's own.

So a config cache, a prompt cache or a state file that another local user planted in a
shared or world-writable `CCPROMPT_HOME` is never read, let alone rendered or run.
"""

from ccprompt.core import files


def state_problem(state_dir: str) -> None:
    """Raise OSError unless `state_dir` may hold ccprompt's state (`unsafe_dir`).

    A cache or persisted file is used only from a directory ccprompt would also write to.
    """
    problem = files.unsafe_dir(state_dir)
    if problem:
        raise OSError(problem)


def read_state(state_dir: str, path: str, limit: int) -> bytes:
    """`read_regular` for a file of ccprompt's state in `state_dir` (see `state_problem`)."""
    state_problem(state_dir)
    return files.read_regular(path, limit, owned=True)


def read_state_tail(state_dir: str, path: str, limit: int) -> tuple[bytes, bool]:
    """`read_tail` for a file of ccprompt's state in `state_dir` (see `state_problem`)."""
    state_problem(state_dir)
    return files.read_tail(path, limit, owned=True)
