"""Edit a JSON file that other programs share (settings.json, ~/.claude.json), safely.

- a symlinked file is written through to its target, atomically, keeping its mode and owner
  (a `sudo ccprompt install` leaves the user's file the user's, and its backups too);
- the new file replaces the old one only if the old one is still the one that was read
  (compare-and-swap), else the edit is made again on the fresh content, a few times;
  when another write slipped in between the check and the swap, the swap is taken back, and
  an edit someone made on top of ccprompt's file in that moment is made again, not dropped;
- at most `MAX_BACKUPS` backups are kept, mode 0600, each under a name of its own;
- ccprompt's own installs and uninstalls are serialized (`serialized`): a lock on the file's
  directory, held from the first read to the last write;
- a value of a shape ccprompt does not edit is refused (`refuse_shape`), never replaced.
"""

from __future__ import annotations

import os
import time

from ccprompt.core.errors import CcpromptError
from ccprompt.surfaces.jsondiff import changes, make_again

MAX_BACKUPS = 5
ATTEMPTS = 20
SETTINGS_LIMIT = 16 << 20
LOCK_WAIT_S = 60.0


class SettingsError(CcpromptError):
    """settings.json exists but cannot be changed safely."""


class serialized:
    """Hold an exclusive lock on the directory of `path`'s real file, so one ccprompt install
    or uninstall at a time reads, remembers and writes. A lock on the directory itself leaves
    no file behind; other editors (Claude Code) are unaffected and met by compare-and-swap."""

    def __init__(self, path: str):
        self.directory = os.path.dirname(os.path.realpath(path)) or "."
        self.fd = -1

    def __enter__(self):
        import fcntl

        _make_dirs(self.directory)
        self.fd = os.open(self.directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(self.fd)
                    raise SettingsError(f"another ccprompt install or uninstall is editing {self.directory}; "
                                        "try again") from None
                time.sleep(0.01)
            except OSError:  # a filesystem without flock on directories: compare-and-swap alone
                return self

    def __exit__(self, *exc):
        os.close(self.fd)  # closing drops the lock


def _owner(path: str) -> tuple | None:
    """(uid, gid) of `path` when it differs from ours, so a rewrite can keep it; else None."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    owner = (info.st_uid, info.st_gid)
    return owner if owner != (os.geteuid(), os.getegid()) else None


def _heir(directory: str) -> tuple | None:
    """Who a file or directory root creates in `directory` should belong to: its owner when
    that is another user (`sudo ccprompt install` in the user's home), else None."""
    return _owner(directory) if os.geteuid() == 0 else None


def _make_dirs(directory: str) -> None:
    """`private_dir`; when root creates them inside another user's directory, they are that user's."""
    from ccprompt.core.files import private_dir

    missing, probe = [], os.path.abspath(directory)
    while not os.path.isdir(probe) and os.path.dirname(probe) != probe:
        missing.append(probe)
        probe = os.path.dirname(probe)
    private_dir(directory)
    heir = _heir(probe) if missing else None
    for made in reversed(missing) if heir else ():
        try:
            os.lchown(made, *heir)
        except OSError:
            pass


def refuse_shape(path: str, key: str, value, wanted=dict) -> None:
    """Raise unless `value` is absent or of the shape ccprompt edits: a value ccprompt does not
    understand is the user's to fix, not ccprompt's to replace."""
    if value is not None and not isinstance(value, wanted):
        kind = {str: "a string", list: "a list", bool: "true or false", int: "a number",
                float: "a number"}.get(type(value), type(value).__name__)
        raise SettingsError(f"{key} in {path} is {kind}, not an object; left untouched (fix or remove it, "
                            "then run this again)")


def _identity(info) -> tuple:
    return (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)


def load(path: str) -> tuple[dict, bytes | None, tuple | None, int]:
    """The settings, their raw bytes, the file's identity and its mode ({}, None, None, 0o600 when missing)."""
    import json
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return {}, None, None, 0o600
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SettingsError(f"{path} is not a regular file; left untouched")
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            if sum(map(len, chunks)) > SETTINGS_LIMIT:
                raise SettingsError(f"{path} is larger than {SETTINGS_LIMIT >> 20} MB; left untouched")
        raw = b"".join(chunks)
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    identity, mode = _identity(info), stat.S_IMODE(info.st_mode)
    if not raw.strip():
        return {}, raw, identity, mode
    try:
        settings = json.loads(raw)
    except ValueError as exc:
        raise SettingsError(f"{path} is not valid JSON ({exc}); left untouched") from None
    if not isinstance(settings, dict):
        raise SettingsError(f"{path} does not hold a JSON object; left untouched")
    return settings, raw, identity, mode


_RENAMEAT2: list = []  # [function or None], looked up once


def _renameat2():
    """libc's renameat2, or None; looked up ahead of the check it must follow closely."""
    if not _RENAMEAT2:
        import ctypes

        try:
            function = ctypes.CDLL(None, use_errno=True).renameat2
            function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        except (OSError, AttributeError):
            function = None
        _RENAMEAT2.append(function)
    return _RENAMEAT2[0]


def _exchange(first: str, second: str) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    import ctypes
    import errno

    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), second)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _stage(target: str, data: bytes, mode: int, owner: tuple | None = None) -> tuple[str, int]:
    """The new content in a new file beside `target` (O_EXCL, O_NOFOLLOW, random name).

    Like `core.files.atomic_write` up to the rename, which is `_swap_in`'s. The descriptor
    stays open for an fsync once the swap is done. `owner` (uid, gid) is given to the new
    file through its descriptor, so a root run keeps the user's file the user's.
    """
    directory, name = os.path.split(target)
    staged = os.path.join(directory, f".{name}.ccprompt-{os.urandom(6).hex()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(staged, flags, 0o600)
    try:
        if owner is not None:
            try:
                os.fchown(fd, *owner)
            except PermissionError:
                pass  # not root: the file can only be ours
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        _unlink(staged)
        raise
    return staged, fd


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _swap_in(staged: str, target: str, seen: tuple | None, ours: tuple | None = None):
    """Put `staged` at `target` only if `target` is still the file read (`seen`).

    True when done; False when it was not (nothing changed); else, when the new file was on
    show for a moment and another editor wrote on top of it before it could be taken back,
    the path of their file (the caller reads their changes, makes them again, then unlinks it).
    `ours` is the staged file's identity, to tell it from theirs.
    """
    if seen is None:  # there was no file: only create one if there still is none
        try:
            os.link(staged, target)
        except FileExistsError:
            return False
        finally:
            _unlink(staged)
        return True
    _renameat2()  # looked up now, not between the check and the swap
    if _identity_at(target) != seen:  # changed already: start again before anyone sees a file built on the old one
        _unlink(staged)
        return False
    if _exchange(staged, target):
        if _identity_at(staged, False) == seen:
            _unlink(staged)
            return True
        # Someone replaced it between the check and the swap: give theirs back. Ours was on
        # show meanwhile; an editor who read it and wrote on top of it gets their file
        # displaced by this swap back: it is returned, for its changes to be made again.
        _exchange(staged, target)
        if _identity_at(staged, False, ours) == ours:
            _unlink(staged)
            return False
        return staged
    if _identity_at(target) != seen:  # no exchange here: check again, just before the rename
        _unlink(staged)
        return False
    os.replace(staged, target)
    return True


def _identity_at(path: str, follow: bool = True, missing=None):
    """`_identity` of the file at `path` (through a symlink when `follow`), or `missing` when there is none."""
    try:
        return _identity(os.stat(path) if follow else os.lstat(path))
    except OSError:
        return missing


def _theirs(path: str, ours: dict) -> list:
    """The changes another editor made on top of `ours` in the file at `path` (then removed)."""
    try:
        theirs = load(path)[0]
    except SettingsError:
        theirs = None
    finally:
        _unlink(path)
    return changes(ours, theirs) if isinstance(theirs, dict) else []


def _backup(path: str, raw: bytes, owner: tuple | None = None) -> str:
    """A 0600 copy of `raw` next to `path` (the file's owner's), under a name no other run uses;
    then prune to MAX_BACKUPS."""
    now = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f"-{int(now * 1e6) % 1000000:06d}"
    backup = f"{path}.ccprompt-{stamp}-{os.urandom(3).hex()}.bak"
    staged, fd = _stage(backup, raw, 0o600, owner)
    try:
        os.fsync(fd)
        os.replace(staged, backup)
    except BaseException:
        _unlink(staged)
        raise
    finally:
        os.close(fd)
    _prune_backups(path, owner[0] if owner else os.getuid())
    return backup


def _prune_backups(path: str, uid: int) -> None:
    import stat

    directory, name = os.path.split(path)
    prefix = f"{name}.ccprompt-"
    found = []
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return
    for entry in names:
        if entry.startswith(prefix) and entry.endswith(".bak"):
            full = os.path.join(directory, entry)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_uid == uid:
                found.append((info.st_mtime_ns, entry, full))
    found.sort()
    for _, _, full in found[:-MAX_BACKUPS]:
        _unlink(full)


def edit(path: str, change) -> tuple[bool, str | None, dict]:
    """Apply `change(settings) -> bool` to the file at `path` (through a symlink), safely.

    Returns (changed, backup path, the settings as first read). `change` mutates the dict
    and returns False when there is nothing to do.
    """
    import json

    _make_dirs(os.path.dirname(path))
    target = os.path.realpath(path)
    _make_dirs(os.path.dirname(target))
    first = None
    backup = None
    pending = []  # changes of another editor to make again (see `_swap_in`)
    for _ in range(ATTEMPTS):
        settings, raw, seen, mode = load(target)
        owner = _owner(target) if seen is not None else _heir(os.path.dirname(target))
        if first is None:
            first = json.loads(json.dumps(settings))
        restored = make_again(settings, pending)
        if not change(settings) and not restored:
            return backup is not None, backup, first
        data = (json.dumps(settings, indent=2, ensure_ascii=False) + "\n").encode("utf-8", "replace")
        if raw is None:  # ccprompt creates the file: `uninstall all --purge` may remove it once empty
            from ccprompt.surfaces.leftovers import remember_created

            remember_created(target)
        staged, fd = _stage(target, data, mode, owner)
        try:
            swapped = _swap_in(staged, target, seen, _identity(os.fstat(fd)))
            if swapped is True:
                os.fsync(fd)  # after the swap, so the window another writer can hit stays tiny
        finally:
            os.close(fd)
        if swapped is True:
            pending = []
            _fsync_dir(os.path.dirname(target))
            if raw is not None and backup is None:
                backup = _backup(path, raw, owner)
            elif backup is None:
                backup = ""
        else:
            if swapped:  # theirs, written on top of ours while it was on show: made again next
                pending += _theirs(swapped, settings)
            time.sleep(0.001 * (1 + os.urandom(1)[0] % 8))  # lost the race: a moment, then again
        # Loop: the next read shows the edit in place (nothing to change) or lost to a
        # concurrent writer (made again on top of what they wrote).
    raise SettingsError(f"{path} kept changing while ccprompt edited it; nothing lost, try again")
