"""Why the state cannot be saved, for the status line to say instead of `probing…`."""

from ccprompt.core import oslite


def save_problem(paths, state, lock, endpoint=None) -> str | None:
    """Why the last probe could not be saved, or None when nothing says so.

    The last probe leaves `unsaved` on the probe lock file when its result could not be
    written (a few bytes rewritten in place, which works on a full disk too). The cause is
    then guessed with a few cheap system calls.
    """
    import time

    if not lock.last_write_failed(time.time(), 3600) or not lock.is_free():
        return None
    try:
        if oslite.statvfs(paths.state_dir).f_bavail == 0:
            return "disk full"
    except OSError:
        pass
    for path in (paths.state_file, paths.endpoint_state_file(endpoint) if endpoint else None):
        try:
            if path and oslite.S_ISDIR(oslite.lstat(path).st_mode):
                return "state path is a directory"
        except OSError:
            pass
    if not oslite.access(paths.state_dir, oslite.W_OK):
        return "state dir not writable"
    return "cannot save state"
