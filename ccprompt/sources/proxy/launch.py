"""`ccprompt run`: find a healthy proxy for this upstream or start one, then exec the command through it.

Fail-open: when no healthy proxy can be had, the command runs unchanged, against its
own upstream, and one line on stderr says so. Standard library only: the command's start
never waits on the server's imports. The credential stays where it already is, in the environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ccprompt.core import files
from ccprompt.core.paths import python_module

from . import lifecycle, supervisor, trust
from .upstream import ENV_SPEC, Upstream

START_TIMEOUT_S = 6.0  # the server's start-up on a slow, busy machine
LOCK_TIMEOUT_S = 8.0
POLL_S = 0.05


def healthy_proxy(upstream: Upstream, home: str, secret: bytes) -> str | None:
    """The URL of this user's running proxy for this upstream, proven by its answer to a fresh challenge.

    A state file whose supervisor is gone is removed on the way.
    """
    state = lifecycle.live_state(home, upstream.key())
    if not state:
        return None
    host = state.get("host") or "127.0.0.1"
    if trust.verify(state["port"], upstream.key(), secret, host=host) is None:
        return None
    return f"http://{f'[{host}]' if ':' in host else host}:{state['port']}"


def start_supervisor(upstream: Upstream, home: str, env, port: int = 0, idle_stop_s: float = 0) -> subprocess.Popen:
    """Start a detached supervisor (its own session, in /, output to proxy.log in the home).

    It runs as `python -P -m`, from /, so nothing in the directory `run` was started in is imported.
    """
    log = os.open(os.path.join(home, supervisor.LOG_FILE),
                  os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    argv = python_module("ccprompt.sources.proxy.supervisor") + [
        "--home", home, "--port", str(port), "--idle-stop-s", str(idle_stop_s), "--origin", "run"]
    if port:
        argv.append("--fallback")  # the remembered port is only a preference
    try:
        return subprocess.Popen(argv, env=supervisor.server_environment(env, upstream), stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, start_new_session=True, close_fds=True, cwd="/")
    finally:
        os.close(log)


def find_or_start(upstream: Upstream, home: str, env=None, idle_stop_s: float = 0) -> tuple[str | None, str]:
    """(proxy URL, how it was had) or (None, why not). Never raises for ordinary trouble.

    The command is registered as the proxy's client under the start lock, so a proxy
    stopping for want of clients never stops under it.
    """
    env = os.environ if env is None else env
    key = upstream.key()
    try:
        files.private_dir(home)
        secret = trust.load_secret(home)
        lock = lifecycle.lock(home, key, LOCK_TIMEOUT_S)
        if lock is None:
            return None, "another start is taking too long"
        try:
            remembered = lifecycle.read_state(home, key)  # read before a stale one is cleaned away
            url = healthy_proxy(upstream, home, secret)
            how = "running"
            if not url:
                # Prefer the port sessions may still point at, if it is free.
                port = remembered["port"] if remembered else 0
                url, how = _start(upstream, home, env, secret, idle_stop_s, port)
            if url:
                lifecycle.register_client(home, key, os.getpid())  # the pid the command will have
            return url, how
        finally:
            lifecycle.unlock(lock)
    except OSError as exc:
        return None, f"cannot start the proxy: {exc.strerror or exc}"


def _start(upstream: Upstream, home: str, env, secret: bytes, idle_stop_s: float,
           port: int) -> tuple[str | None, str]:
    child = start_supervisor(upstream, home, env, port, idle_stop_s)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            return None, f"the proxy exited at start (see {os.path.join(home, supervisor.LOG_FILE)})"
        state = lifecycle.read_state(home, upstream.key())
        if state and state.get("pid") == child.pid:
            url = healthy_proxy(upstream, home, secret)
            if url:
                return url, "started"
        time.sleep(POLL_S)
    return None, "the proxy did not become healthy in time"


def _is_a_proxy_already(upstream: Upstream, home: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(upstream.base_url)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1") or not parts.port:
        return False
    try:
        secret = trust.load_secret(home, create=False)
    except OSError:
        return False
    return secret is not None and trust.verify(parts.port, None, secret, host=parts.hostname) is not None


def command_environment(env, proxy_url: str) -> dict:
    """The command's environment with the base URL pointing at the proxy.

    The proxy adds the upstream's path prefix itself, so the client's base URL has none.
    """
    child = dict(env)
    child["ANTHROPIC_BASE_URL"] = proxy_url
    return child


def run(argv: list, upstream: Upstream | None, home: str, env=None, why: str | None = None,
        idle_stop_s: float = 0) -> int:
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
    elif _is_a_proxy_already(upstream, home):
        # The base URL already is a ccprompt proxy (a nested `run`): proxying it again would loop.
        url, why = upstream.base_url, ""
    else:
        url, why = find_or_start(upstream, home, env, idle_stop_s)
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
    parser.add_argument("--idle-stop-s", type=float, default=0.0)
    options = parser.parse_args(args)
    try:
        upstream = Upstream(options.upstream, ca_file=options.ca_file)
    except ValueError:
        upstream = None
    return run(command, upstream, options.home, idle_stop_s=options.idle_stop_s)


if __name__ == "__main__":
    sys.exit(main())
