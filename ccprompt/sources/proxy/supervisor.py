"""The proxy's keeper: holds the listening socket and restarts the server process whenever it dies.

Tiny on purpose (standard library only, no event loop): it is not the thing that handles
traffic, so it is not the thing that gets killed. It binds the port once and passes the
socket to each server it starts, so after a `kill -9` of the server, new connections wait
in the socket's backlog and are served by the replacement, on the same port.
It writes `proxy-<upstream key>.json` in the ccprompt home for `ccprompt run` to find.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

from ccprompt import __version__
from ccprompt.core import files

from .upstream import ENV_SPEC, Upstream

HEALTH_PATH = "/__ccprompt/health"
SERVICE_NAME = "ccprompt-proxy"
HEALTH_TIMEOUT_S = 0.2
RESTART_DELAY_S = 0.05
RESTART_BURST = 10  # this many restarts within RESTART_WINDOW_S means the server cannot run: give up
RESTART_WINDOW_S = 30.0
CREDENTIAL_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")
LOG_FILE = "proxy.log"


def state_path(home: str, key: str) -> str:
    return os.path.join(home, f"proxy-{key}.json")


def read_state(home: str, key: str) -> dict | None:
    try:
        with open(state_path(home, key), "rb") as handle:
            data = json.loads(handle.read(65536))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("port"), int) else None


def check_health(port: int, key: str | None = None, host: str = "127.0.0.1",
                 timeout: float = HEALTH_TIMEOUT_S) -> dict | None:
    """The health document if a ccprompt proxy for this upstream answers on `port` in time, else None."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", HEALTH_PATH)
        response = conn.getresponse()
        if response.status != 200:
            return None
        data = json.loads(response.read(65536))
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    if not isinstance(data, dict) or data.get("service") != SERVICE_NAME:
        return None
    if key is not None and data.get("upstream_key") != key:
        return None
    return data


def server_environment(env, upstream: Upstream) -> dict:
    """What the server process sees: the caller's environment minus credentials, plus the upstream spec.

    The proxy never needs a key: clients send their own headers, which pass through.
    """
    child = {name: value for name, value in env.items() if name not in CREDENTIAL_VARS}
    child[ENV_SPEC] = upstream.to_env()
    return child


def _write_state(home: str, upstream: Upstream, port: int, host: str) -> None:
    path = state_path(home, upstream.key())
    data = {"pid": os.getpid(), "port": port, "host": host, "upstream": upstream.redacted(),
            "upstream_key": upstream.key(), "started": round(time.time(), 3), "version": __version__}
    temp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.write(fd, json.dumps(data).encode())
    finally:
        os.close(fd)
    os.replace(temp, path)


def _remove_state(home: str, key: str) -> None:
    current = read_state(home, key)
    if current and current.get("pid") == os.getpid():
        try:
            os.unlink(state_path(home, key))
        except OSError:
            pass


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def supervise(upstream: Upstream, home: str, *, host: str = "127.0.0.1", port: int = 0,
              capture: str | None = None, stall_s: float | None = None, env=None, announce=None) -> int:
    """Bind, record where, keep one server running until SIGTERM/SIGINT. Returns the exit code.

    `announce(url)` is called once the port is bound (the foreground `ccprompt proxy` prints it).
    """
    env = os.environ if env is None else env
    files.private_dir(home)
    try:
        sock = bind(host, port)
    except OSError:
        if port == 0:
            raise
        sock = bind(host, 0)  # the remembered port is taken: any free one will do
    bound_port = sock.getsockname()[1]
    key = upstream.key()
    _write_state(home, upstream, bound_port, host)
    if announce is not None:
        announce(f"http://{f'[{host}]' if ':' in host else host}:{bound_port}")
    argv = [sys.executable, "-m", "ccprompt.sources.proxy.server", "--fd", str(sock.fileno()),
            "--home", home, "--parent-pid", str(os.getpid())]
    if capture:
        argv += ["--capture", capture]
    if stall_s is not None:
        argv += ["--stall-s", str(stall_s)]
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
    code = 0
    try:
        while not stopping:
            child = subprocess.Popen(argv, env=child_env, pass_fds=(sock.fileno(),), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL)
            child.wait()
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
        sock.close()
    return code


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ccprompt.sources.proxy.supervisor")
    parser.add_argument("--home", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--capture")
    parser.add_argument("--stall-s", type=float)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        upstream = Upstream.from_env(os.environ[ENV_SPEC])
    except (KeyError, ValueError, TypeError):
        sys.stderr.write(f"ccprompt proxy: no upstream in ${ENV_SPEC}\n")
        return 2
    return supervise(upstream, args.home, host=args.host, port=args.port, capture=args.capture,
                     stall_s=args.stall_s)


if __name__ == "__main__":
    sys.exit(main())
