"""The part of `os` and `os.path` the status line uses, on the `posix` builtin.

Importing `os` runs `_collections_abc`, `stat`, `genericpath` and `posixpath`: about 6 M
instructions, an eighth of a whole status line render, for a handful of functions that
`posix` already has. The render path (entry, the status line, the core it reads) uses
this module instead and never imports `os`.

The functions are `posix`'s own, looked up here at call time, so a test can replace one.
The path helpers follow `posixpath` for `str` paths (and path-like objects). When `os` is
loaded, `environ()` is its `os.environ`, so a change made there is seen here too.
"""

import posix
import sys
from posix import (
    O_APPEND,
    O_CLOEXEC,
    O_CREAT,
    O_EXCL,
    O_NOFOLLOW,
    O_NONBLOCK,
    O_RDONLY,
    O_RDWR,
    O_TRUNC,
    O_WRONLY,
    W_OK,
    POSIX_SPAWN_CLOSE,
    POSIX_SPAWN_OPEN,
    access,
    chmod,
    close,
    fchmod,
    fspath,
    fstat,
    fsync,
    ftruncate,
    get_blocking,
    getpid,
    getuid,
    listdir,
    lseek,
    lstat,
    mkdir,
    open,
    posix_spawn,
    pread,
    pwrite,
    read,
    replace,
    set_blocking,
    stat,
    statvfs,
    unlink,
    urandom,
    utime,
    write,
)

__all__ = [
    "O_APPEND", "O_CLOEXEC", "O_CREAT", "O_EXCL", "O_NOFOLLOW", "O_NONBLOCK", "O_RDONLY", "O_RDWR", "O_TRUNC",
    "O_WRONLY", "POSIX_SPAWN_CLOSE", "POSIX_SPAWN_OPEN", "SEEK_SET", "S_ISDIR", "S_ISFIFO", "S_ISREG",
    "S_ISSOCK", "W_OK",
    "abspath", "access", "basename", "chmod", "close", "dirname", "environ", "exists", "expanduser", "fchmod",
    "fspath", "fstat", "fsync", "ftruncate", "get_blocking", "getpid", "getuid", "isdir", "isfile", "join",
    "listdir", "lseek", "lstat", "mkdir", "open", "pathsep", "posix_spawn", "pread", "pwrite", "read",
    "replace", "set_blocking", "split", "stat", "statvfs", "unlink", "urandom", "utime", "write",
]

SEEK_SET = 0
pathsep = ":"
_S_IFMT = 0o170000
_S_IFDIR = 0o040000
_S_IFREG = 0o100000
_S_IFIFO = 0o010000
_S_IFSOCK = 0o140000
_snapshot: dict | None = None


def environ():
    """The process environment as `str` (`os.environ` itself once `os` is loaded)."""
    global _snapshot
    loaded = sys.modules.get("os")
    if loaded is not None:
        return loaded.environ
    if _snapshot is None:
        _snapshot = {key.decode("utf-8", "surrogateescape"): value.decode("utf-8", "surrogateescape")
                     for key, value in posix.environ.items()}
    return _snapshot


def join(first, *rest) -> str:
    path = fspath(first)
    for part in map(fspath, rest):
        if part.startswith("/"):
            path = part
        elif not path or path.endswith("/"):
            path += part
        else:
            path += "/" + part
    return path


def split(path) -> tuple:
    """(head, tail) as `os.path.split`: the head loses its trailing slashes unless it is all slashes."""
    path = fspath(path)
    cut = path.rfind("/") + 1
    head, tail = path[:cut], path[cut:]
    if head and head != "/" * len(head):
        head = head.rstrip("/")
    return head, tail


def dirname(path) -> str:
    return split(path)[0]


def basename(path) -> str:
    path = fspath(path)
    return path[path.rfind("/") + 1:]


def abspath(path) -> str:
    path = fspath(path)
    if not path.startswith("/"):
        path = join(posix.getcwd(), path)
    return _normpath(path)


def _normpath(path: str) -> str:
    native = getattr(posix, "_path_normpath", None)
    if native is not None:
        return native(path)
    import posixpath  # Python 3.10: no native normpath

    return posixpath.normpath(path)


def expanduser(path) -> str:
    """`~` and `~/…` for the current user: HOME, else the password database (unchanged if neither)."""
    path = fspath(path)
    if path != "~" and not path.startswith("~/"):
        return path
    home = environ().get("HOME")
    if home is None:
        try:
            import pwd

            home = pwd.getpwuid(getuid()).pw_dir
        except (ImportError, KeyError):
            return path
    return (home.rstrip("/") + path[1:]) or "/"


def S_ISDIR(mode: int) -> bool:  # noqa: N802 (as the `stat` module spells it)
    return mode & _S_IFMT == _S_IFDIR


def S_ISREG(mode: int) -> bool:  # noqa: N802
    return mode & _S_IFMT == _S_IFREG


def S_ISFIFO(mode: int) -> bool:  # noqa: N802
    return mode & _S_IFMT == _S_IFIFO


def S_ISSOCK(mode: int) -> bool:  # noqa: N802
    return mode & _S_IFMT == _S_IFSOCK


def _mode(path):
    try:
        return stat(path).st_mode & _S_IFMT
    except (OSError, ValueError):
        return None


def exists(path) -> bool:
    return _mode(path) is not None


def isdir(path) -> bool:
    return _mode(path) == _S_IFDIR


def isfile(path) -> bool:
    return _mode(path) == _S_IFREG
