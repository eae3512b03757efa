"""The git branch for the status line, read from `.git/HEAD` without running git (a repository of the user's own only)."""

from ccprompt.core import files, oslite


def _read_small(path: str) -> str | None:
    try:
        return files.read_regular(path, 4096).decode("utf-8", "replace").strip()
    except OSError:
        return None


def _owned(path: str) -> bool:
    """Like git's safe.directory: trust a repository only when it is the user's own."""
    try:
        return oslite.stat(path).st_uid == oslite.getuid()
    except OSError:
        return False


def git_branch(start) -> str | None:
    """The branch named in .git/HEAD above `start`, read without running git.

    A `.git` that belongs to another user (a planted /tmp/.git, say) is not trusted.
    """
    if not isinstance(start, str) or not start:
        return None
    path = oslite.abspath(start)
    for _ in range(64):
        dot_git = oslite.join(path, ".git")
        head = None
        if oslite.isdir(dot_git):
            if not _owned(dot_git):
                return None
            head = oslite.join(dot_git, "HEAD")
        elif oslite.isfile(dot_git):  # a worktree or submodule: `gitdir: <path>`
            if not _owned(dot_git):
                return None
            line = _read_small(dot_git)
            if line is None:
                return None
            if line.startswith("gitdir:"):
                head = oslite.join(path, line[len("gitdir:"):].strip(), "HEAD")
        if head:
            ref = _read_small(head)
            if ref is None:
                return None
            if ref.startswith("ref:"):
                name = ref[4:].strip()
                return name[len("refs/heads/"):] if name.startswith("refs/heads/") else name
            return ref[:7] or None  # detached HEAD: show the short hash
        parent = oslite.dirname(path)
        if parent == path:
            return None
        path = parent
    return None
