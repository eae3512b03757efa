"""The proxy's keeper: holds the listening socket and restarts the server process whenever it dies.

Tiny on purpose (standard library only, no event loop): it is not the thing that handles
traffic, so it is not the thing that gets killed. It binds the port once and passes the
socket to each server it starts, so after a `kill -9` of the server, new connections wait
in the socket's backlog and are served by the replacement, on the same port. Should the
supervisor itself die, its server starts a new one and hands it the same socket before
letting go (`adopt`): the port is held by one of them at every moment.
It writes `proxy-<upstream key>.json` in the ccprompt home for `ccprompt run` to find, and
one started by `run` stops by itself once no command `run` started through it has run for
`--idle-stop-s` seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

from ccprompt import __version__
from ccprompt.core import files
from ccprompt.core.paths import python_module

from . import lifecycle, trust
from .upstream import ENV_SPEC, Upstream

HEALTH_PATH = trust.HEALTH_PATH
SERVICE_NAME = trust.SERVICE_NAME
HEALTH_TIMEOUT_S = trust.TIMEOUT_S
CHECK_S = 1.0  # how often the supervisor looks at its clients
RESTART_DELAY_S = 0.05
RESTART_BURST = 10  # this many restarts within RESTART_WINDOW_S means the server cannot run: give up
RESTART_WINDOW_S = 30.0
CREDENTIAL_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")
LOG_FILE = "proxy.log"


def state_path(home: str, key: str) -> str:
    return lifecycle.state_path(home, key)


def read_state(home: str, key: str) -> dict | None:
    return lifecycle.read_state(home, key)


def check_health(port: int, key: str | None = None, host: str = "127.0.0.1",
                 timeout: float = HEALTH_TIMEOUT_S, home: str | None = None) -> dict | None:
    """The health document if this user's proxy (for this upstream) answers on `port` in time, else None.

    The answer must prove it knows the secret in `home` (see `trust`); without a secret there is no proxy.
    """
    if home is None:
        return None
    try:
        secret = trust.load_secret(home, create=False)
    except OSError:
        return None
    if secret is None:
        return None
    return trust.verify(port, key, secret, host=host, timeout=timeout)


def server_environment(env, upstream: Upstream) -> dict:
    """What the server process sees: the caller's environment minus credentials, plus the upstream spec.

    The proxy never needs a key: clients send their own headers, which pass through.
    """
    child = {name: value for name, value in env.items() if name not in CREDENTIAL_VARS}
    child[ENV_SPEC] = upstream.to_env()
    return child


def _write_state(home: str, upstream: Upstream, port: int, host: str, origin: str, idle_stop_s: float) -> None:
    data = {"pid": os.getpid(), "pid_start": lifecycle.start_token(os.getpid()), "port": port, "host": host,
            "upstream": upstream.redacted(), "upstream_key": upstream.key(), "started": round(time.time(), 3),
            "version": __version__, "origin": origin, "idle_stop_s": idle_stop_s}
    files.atomic_write(state_path(home, upstream.key()), json.dumps(data).encode())


def _remove_state(home: str, key: str) -> None:
    current = read_state(home, key)
    if current and current.get("pid") == os.getpid():
        lifecycle.remove(state_path(home, key))


class PortBusy(OSError):
    """An explicit port is taken: by another process, maybe another user's. Never moved from."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port.

    SO_REUSEADDR lets a restarted proxy take its port back over connections still in
    TIME_WAIT; it never lets anyone share a port that a socket listens on (Linux refuses
    any second bind to a listening address, macOS one from another user or without
    SO_REUSEPORT). SO_REUSEPORT is never set, so no one can join this socket's port.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def listen(host: str, port: int, fallback: bool) -> socket.socket:
    """Bind `port` (any free one for 0). A taken port raises PortBusy, unless `fallback` allows any free one."""
    try:
        return bind(host, port)
    except OSError as exc:
        if port == 0:
            raise
        if not fallback:
            raise PortBusy(exc.errno, f"port {port} is in use") from None
    return bind(host, 0)  # run's remembered port is taken: any free one will do


def supervise(upstream: Upstream, home: str, *, host: str = "127.0.0.1", port: int = 0, fallback: bool = False,
              capture: str | None = None, stall_s: float | None = None, env=None, announce=None,
              idle_stop_s: float = 0, origin: str = "proxy", sock: socket.socket | None = None) -> int:
    """Bind, record where, keep one server running until SIGTERM/SIGINT (or idle). Returns the exit code.

    `announce(url)` is called once the port is bound (the foreground `ccprompt proxy` prints it).
    `sock`, when given, is an inherited listening socket to keep serving (`adopt`).
    """
    env = os.environ if env is None else env
    files.private_dir(home)
    trust.load_secret(home)  # made now, before the first server needs it
    if sock is None:
        sock = listen(host, port, fallback)
    bound = sock.getsockname()
    host, bound_port = bound[0], bound[1]
    key = upstream.key()
    _write_state(home, upstream, bound_port, host, origin, idle_stop_s)
    if announce is not None:
        announce(f"http://{f'[{host}]' if ':' in host else host}:{bound_port}")
    own = ["--home", home, "--host", host, "--idle-stop-s", str(idle_stop_s), "--origin", origin]
    argv = python_module("ccprompt.sources.proxy.server") + [
        "--fd", str(sock.fileno()), "--home", home, "--parent-pid", str(os.getpid())]
    if capture:
        argv += ["--capture", capture]
        own += ["--capture", capture]
    if stall_s is not None:
        argv += ["--stall-s", str(stall_s)]
        own += ["--stall-s", str(stall_s)]
    argv += ["--supervisor-args", json.dumps(own)]
    child_env = server_environment(env, upstream)
    stopping = []
    child = None

    def stop(signum, frame):
        stopping.append(signum)
        if child is not None and child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    restarts: list = []
    idle = Idle(home, key, idle_stop_s)
    code = 0
    try:
        while not stopping:
            child = subprocess.Popen(argv, env=child_env, pass_fds=(sock.fileno(),), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL)
            while child.poll() is None and not stopping:
                try:
                    child.wait(CHECK_S)
                except subprocess.TimeoutExpired:
                    if idle.over():
                        sys.stderr.write(f"ccprompt proxy: no client for {idle_stop_s:g}s; stopping\n")
                        stopping.append(0)
                        child.terminate()
            if stopping:
                break
            now = time.monotonic()
            restarts = [t for t in restarts if now - t < RESTART_WINDOW_S] + [now]
            if len(restarts) >= RESTART_BURST:
                sys.stderr.write("ccprompt proxy: the server keeps exiting; giving up\n")
                code = 1
                break
            sys.stderr.write(f"ccprompt proxy: server exited ({child.returncode}); restarting on port {bound_port}\n")
            time.sleep(RESTART_DELAY_S)
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(5)
            except subprocess.TimeoutExpired:
                child.kill()
        _remove_state(home, key)
        idle.release()
        sock.close()
    return code


class Idle:
    """Whether a proxy started by `run` has had no client for its idle time: then it may stop.

    The decision is taken under the start lock, and the lock is kept until the state file is
    gone, so a `run` either registered its command before (and the proxy stays) or finds
    no proxy (and starts one).
    """

    def __init__(self, home: str, key: str, idle_stop_s: float) -> None:
        self.home, self.key, self.limit = home, key, idle_stop_s
        self.since = time.monotonic()
        self.lock = None

    def over(self) -> bool:
        clients = lifecycle.live_clients(self.home, self.key)  # also forgets the files of clients gone
        if not self.limit or self.limit <= 0:
            return False
        if clients:
            self.since = time.monotonic()
            return False
        if time.monotonic() - self.since < self.limit:
            return False
        self.lock = lifecycle.lock(self.home, self.key, 0)
        if self.lock is None:
            return False  # a `run` is deciding right now: ask again later
        if lifecycle.live_clients(self.home, self.key):
            self.release()
            self.since = time.monotonic()
            return False
        _remove_state(self.home, self.key)
        return True

    def release(self) -> None:
        lifecycle.unlock(self.lock)
        self.lock = None


def adopt(fd: int, home: str, options: str) -> None:
    """Start a supervisor that takes over the listening socket `fd` (the server's, whose supervisor died).

    Called by the orphaned server before it exits, so the port is never free in between.
    """
    try:
        own = [str(word) for word in json.loads(options)] if options else ["--home", home]
    except (TypeError, ValueError):
        own = ["--home", home]
    log = os.open(os.path.join(home, LOG_FILE),
                  os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.set_inheritable(fd, True)
        subprocess.Popen(python_module("ccprompt.sources.proxy.supervisor") + own + ["--fd", str(fd)],
                         pass_fds=(fd,), stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                         cwd="/")
    except OSError as exc:
        sys.stderr.write(f"ccprompt proxy: cannot start a new supervisor: {exc.strerror}\n")
    finally:
        os.close(log)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ccprompt.sources.proxy.supervisor")
    parser.add_argument("--home", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fallback", action="store_true", help="a taken --port may become any free one")
    parser.add_argument("--fd", type=int, help="keep serving this inherited listening socket")
    parser.add_argument("--idle-stop-s", type=float, default=0.0)
    parser.add_argument("--origin", default="proxy", choices=("proxy", "run"))
    parser.add_argument("--capture")
    parser.add_argument("--stall-s", type=float)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        upstream = Upstream.from_env(os.environ[ENV_SPEC])
    except (KeyError, ValueError, TypeError):
        sys.stderr.write(f"ccprompt proxy: no upstream in ${ENV_SPEC}\n")
        return 2
    sock = None
    if args.fd is not None:
        sock = socket.socket(fileno=args.fd)
        sock.set_inheritable(True)
    try:
        return supervise(upstream, args.home, host=args.host, port=args.port, fallback=args.fallback,
                         capture=args.capture, stall_s=args.stall_s, idle_stop_s=args.idle_stop_s,
                         origin=args.origin, sock=sock)
    except PortBusy as exc:
        sys.stderr.write(f"ccprompt proxy: {exc.strerror}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
