"""What is running: the proxies' state files, their supervisors, the clients `run` started through them.

- `proxy-<key>.json` says where a supervisor listens. It is trusted only while its pid
  is alive and is the same process (on Linux its start time, from `/proc/<pid>/stat`,
  is recorded with it, so a reused pid does not count); otherwise it is stale and removed.
- `proxy-<key>.client-<pid>` is written by `run` just before it execs the command, so
  the pid is the command's. A client counts while that process lives.
- `proxy-<key>.lock` orders `run` (check, then register) against a supervisor that stops
  when idle (check, then remove its state), so no command is handed a proxy that is stopping.
"""

from __future__ import annotations

import fcntl
import json
import os
import time

from ccprompt.core import files, statedir

LOCK_POLL_S = 0.05


def state_path(home: str, key: str) -> str:
    return os.path.join(home, f"proxy-{key}.json")


def client_prefix(key: str) -> str:
    return f"proxy-{key}.client-"


def start_token(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), or "" where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read(4096)
    except OSError:
        return ""
    fields = raw[raw.rfind(b")") + 2:].split()
    return fields[19].decode() if len(fields) > 19 else ""


def alive(pid, token: str = "") -> bool:
    """Whether `pid` is a live process of this user and, when a token is given, the same one."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process now has that pid
    if token:
        now = start_token(pid)
        return not now or now == token
    return True


def read_state(home: str, key: str) -> dict | None:
    try:
        data = json.loads(statedir.read_state(home, state_path(home, key), 65536))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("port"), int) else None


def live_state(home: str, key: str) -> dict | None:
    """The state of a supervisor that still runs; a file left by a dead one is removed."""
    state = read_state(home, key)
    if state is None:
        return None
    if alive(state.get("pid"), str(state.get("pid_start") or "")):
        return state
    remove(state_path(home, key))
    return None


def all_states(home: str) -> list:
    """(key, live state) for every proxy-*.json in `home`; stale ones are removed on the way."""
    found = []
    try:
        names = sorted(os.listdir(home))
    except OSError:
        return found
    for name in names:
        if name.startswith("proxy-") and name.endswith(".json") and ".client-" not in name:
            key = name[len("proxy-"):-len(".json")]
            state = live_state(home, key)
            if state is not None:
                found.append((key, state))
    return found


def register_client(home: str, key: str, pid: int) -> None:
    files.atomic_write(os.path.join(home, client_prefix(key) + str(pid)), start_token(pid).encode())


def live_clients(home: str, key: str) -> list:
    """The pids of the commands `run` started through this proxy that still run; dead ones are forgotten."""
    prefix = client_prefix(key)
    pids = []
    try:
        names = os.listdir(home)
    except OSError:
        return pids
    for name in names:
        if not name.startswith(prefix) or not name[len(prefix):].isdigit():
            continue
        path = os.path.join(home, name)
        pid = int(name[len(prefix):])
        try:
            token = statedir.read_state(home, path, 64).decode("ascii", "replace").strip()
        except OSError:
            continue
        if alive(pid, token):
            pids.append(pid)
        else:
            remove(path)
    return sorted(pids)


def remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def lock(home: str, key: str, timeout: float):
    """The start lock of this upstream's proxy (a descriptor), or None when it stays taken for `timeout` s."""
    fd = os.open(os.path.join(home, f"proxy-{key}.lock"),
                 os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(LOCK_POLL_S)


def unlock(fd) -> None:
    if fd is not None:
        os.close(fd)


def uptime(state: dict, now: float | None = None) -> str:
    """`45s`, `3m12s`, `2h05m` as `core.text.fmt_s` writes an age; past a day, `1d02h`."""
    from ccprompt.core.text import fmt_s, number

    seconds = max(0, int((time.time() if now is None else now) - (number(state.get("started")) or 0)))
    return fmt_s(seconds) if seconds < 86400 else f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


# -- `ccprompt proxy status` and `ccprompt proxy stop` -----------------------------------------


def describe(home: str, secret: bytes | None) -> list:
    """One dict per running proxy: port, supervisor pid, server pid, clients, uptime, origin, answering."""
    from . import trust

    found = []
    for key, state in all_states(home):
        host = state.get("host") or "127.0.0.1"
        health = trust.verify(state["port"], key, secret, host=host, timeout=0.5) if secret else None
        found.append({
            "port": state["port"], "host": host, "pid": state.get("pid"),
            "server_pid": health.get("pid") if health else None,
            "clients": live_clients(home, key), "uptime": uptime(state), "started": state.get("started"),
            "origin": state.get("origin") or "proxy", "upstream": state.get("upstream"),
            "answering": health is not None, "requests": health.get("requests") if health else None,
            "key": key,
        })
    return found


def stop_all(home: str, timeout: float = 5.0) -> list:
    """SIGTERM every live supervisor of this user's proxies; (port, pid, stopped, clients still running) for each."""
    import signal

    results = []
    for key, state in all_states(home):
        pid, token = state["pid"], str(state.get("pid_start") or "")
        clients = live_clients(home, key)
        if not token and not _answers_as(home, key, state, pid):
            continue  # no start time to tell a reused pid by (not Linux): only a proxy that proves it
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            results.append((state["port"], pid, False, clients))
            continue
        deadline = time.monotonic() + timeout
        while alive(pid, token) and time.monotonic() < deadline:
            time.sleep(LOCK_POLL_S)
        gone = not alive(pid, token)
        if gone:
            remove(state_path(home, key))  # a supervisor removes it itself; this covers one that could not
        results.append((state["port"], pid, gone, clients))
    return results


def _answers_as(home: str, key: str, state: dict, pid: int) -> bool:
    from . import trust

    try:
        secret = trust.load_secret(home, create=False)
    except OSError:
        return False
    health = trust.verify(state["port"], key, secret, host=state.get("host") or "127.0.0.1",
                          timeout=0.5) if secret else None
    return bool(health) and health.get("supervisor_pid") == pid
