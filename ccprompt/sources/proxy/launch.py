"""`ccprompt run`: find a healthy proxy for this upstream or start one, then exec the command through it.

Fail-open: when no healthy proxy can be had, the command runs unchanged, against its
own upstream, and one line on stderr says so. Standard library only: the command's start
never waits on the server's imports. The credential stays where it already is, in the environment.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time

from ccprompt.core import files

from . import supervisor
from .upstream import ENV_SPEC, Upstream

START_TIMEOUT_S = 6.0  # the server's start-up on a slow, busy machine
LOCK_TIMEOUT_S = 8.0
POLL_S = 0.05


def _lock(home: str, key: str, timeout: float):
    fd = os.open(os.path.join(home, f"proxy-{key}.lock"),
                 os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            if time.monotonic() > deadline:
                os.close(fd)
                return None
            time.sleep(POLL_S)


def healthy_proxy(upstream: Upstream, home: str) -> str | None:
    """The URL of a running proxy for this upstream that answers its health check, if any."""
    state = supervisor.read_state(home, upstream.key())
    if not state:
        return None
    host = state.get("host") or "127.0.0.1"
    if supervisor.check_health(state["port"], upstream.key(), host=host) is None:
        return None
    return f"http://{host}:{state['port']}"


def start_supervisor(upstream: Upstream, home: str, env, port: int = 0) -> subprocess.Popen:
    """Start a detached supervisor (its own session, output to proxy.log in the home)."""
    log = os.open(os.path.join(home, supervisor.LOG_FILE),
                  os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "ccprompt.sources.proxy.supervisor", "--home", home, "--port", str(port)],
            env=supervisor.server_environment(env, upstream), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True, close_fds=True,
        )
    finally:
        os.close(log)


def find_or_start(upstream: Upstream, home: str, env=None) -> tuple[str | None, str]:
    """(proxy URL, how it was had) or (None, why not). Never raises for ordinary trouble."""
    env = os.environ if env is None else env
    try:
        files.private_dir(home)
        url = healthy_proxy(upstream, home)
        if url:
            return url, "running"
        lock = _lock(home, upstream.key(), LOCK_TIMEOUT_S)
        if lock is None:
            return None, "another start is taking too long"
        try:
            url = healthy_proxy(upstream, home)  # someone else may have started it meanwhile
            if url:
                return url, "running"
            stale = supervisor.read_state(home, upstream.key())
            port = stale["port"] if stale else 0  # reuse the port sessions may still point at
            child = start_supervisor(upstream, home, env, port)
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline:
                if child.poll() is not None:
                    return None, f"the proxy exited at start (see {os.path.join(home, supervisor.LOG_FILE)})"
                state = supervisor.read_state(home, upstream.key())
                if state and state.get("pid") == child.pid:
                    url = healthy_proxy(upstream, home)
                    if url:
                        return url, "started"
                time.sleep(POLL_S)
            return None, "the proxy did not become healthy in time"
        finally:
            os.close(lock)
    except OSError as exc:
        return None, f"cannot start the proxy: {exc.strerror or type(exc).__name__}"


def _is_a_proxy_already(upstream: Upstream) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(upstream.base_url)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1") or not parts.port:
        return False
    return supervisor.check_health(parts.port, host=parts.hostname) is not None


def command_environment(env, proxy_url: str) -> dict:
    """The command's environment with the base URL pointing at the proxy.

    The proxy adds the upstream's path prefix itself, so the client's base URL has none.
    """
    child = dict(env)
    child["ANTHROPIC_BASE_URL"] = proxy_url
    return child


def run(argv: list, upstream: Upstream | None, home: str, env=None, why: str | None = None) -> int:
    """Exec `argv` through a proxy, or directly when none can be had. Returns only on failure to exec.

    `why`, when given, is the reason not to look for a proxy at all.
    """
    env = os.environ if env is None else env
    if not argv:
        sys.stderr.write("ccprompt run: no command given (ccprompt run -- claude ...)\n")
        return 2
    if why:
        url = None
    elif upstream is None:
        url, why = None, "no usable upstream base URL"
    elif _is_a_proxy_already(upstream):
        # The base URL already is a ccprompt proxy (a nested `run`): proxying it again would loop.
        url, why = upstream.base_url, ""
    else:
        url, why = find_or_start(upstream, home, env)
    if url:
        child_env = command_environment(env, url)
    else:
        child_env = dict(env)
        sys.stderr.write(f"ccprompt: proxy unavailable ({why}); running {os.path.basename(argv[0])} directly\n")
    child_env.pop(ENV_SPEC, None)
    try:
        os.execvpe(argv[0], argv, child_env)
    except OSError as exc:
        sys.stderr.write(f"ccprompt run: cannot run {argv[0]}: {exc.strerror or type(exc).__name__}\n")
        return 127 if isinstance(exc, FileNotFoundError) else 126
    return 0  # not reached


def main(argv=None) -> int:
    """`python -m ccprompt.sources.proxy.launch --home DIR --upstream URL [--ca-file F] -- CMD ...`."""
    import argparse

    args = sys.argv[1:] if argv is None else list(argv)
    command = []
    if "--" in args:
        split = args.index("--")
        args, command = args[:split], args[split + 1:]
    parser = argparse.ArgumentParser(prog="python -m ccprompt.sources.proxy.launch")
    parser.add_argument("--home", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--ca-file")
    options = parser.parse_args(args)
    try:
        upstream = Upstream(options.upstream, ca_file=options.ca_file)
    except ValueError:
        upstream = None
    return run(command, upstream, options.home)


if __name__ == "__main__":
    sys.exit(main())
