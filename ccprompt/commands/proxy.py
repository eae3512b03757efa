"""`ccprompt proxy`: the pass-through proxy in the foreground, supervised, until stopped; `status`, `stop`."""

from __future__ import annotations

import sys

from ccprompt.core.errors import CcpromptError


def _state_dir():
    from ccprompt.core import files
    from ccprompt.core.paths import Paths

    paths = Paths()
    problem = files.unsafe_dir(paths.state_dir)
    if problem:
        raise CcpromptError(f"refusing the state directory: {problem}")
    return paths


def proxy(host: str = "127.0.0.1", port: int | None = None, capture: str | None = None) -> int:
    """Print the proxy's URL once it listens; exit 0 on SIGTERM/SIGINT, 1 if the server cannot run.

    An explicit --port that is taken ends it with exit 2: the proxy never moves to another
    port, since whatever points at that port would then reach whoever holds it.
    """
    import os

    from ccprompt.sources.proxy import supervisor
    from ccprompt.sources.proxy.upstream import resolve

    paths = _state_dir()
    try:
        upstream = resolve(paths)
    except ValueError as exc:
        raise CcpromptError(f"no usable upstream: {exc}", 2) from None
    if capture:
        capture = os.path.abspath(paths.expand(capture))  # the server warns about it on start
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.stderr.write(f"ccprompt proxy: WARNING: listening on {host}: anyone who can reach it can use "
                         "the API through it with their own key, and read nothing of yours\n")

    def announce(url: str) -> None:
        sys.stdout.write(f"ccprompt proxy: {url} -> {upstream.redacted()}\n")
        sys.stdout.flush()

    try:
        return supervisor.supervise(upstream, paths.state_dir, host=host, port=port or 0, capture=capture,
                                    announce=announce)
    except supervisor.PortBusy:
        raise CcpromptError(f"port {port} is in use (by another process, maybe another user's); "
                            f"`ccprompt proxy status` lists ccprompt's own, or choose another --port", 2) from None
    except OSError as exc:
        raise CcpromptError(f"cannot listen on {host}:{port or 0}: {exc.strerror or exc}") from None


def proxy_status(as_json: bool = False) -> int:
    """The running proxies of this user: port, pids, clients, uptime. Exit 0 (also when there is none)."""
    import json

    from ccprompt.sources.proxy import lifecycle, trust

    paths = _state_dir()
    try:
        secret = trust.load_secret(paths.state_dir, create=False)
    except OSError as exc:
        raise CcpromptError(f"cannot use the proxy secret: {exc}") from None
    found = lifecycle.describe(paths.state_dir, secret)
    if as_json:
        sys.stdout.write(json.dumps({"proxies": found}, indent=2) + "\n")
        return 0
    if not found:
        sys.stdout.write("no proxy running\n")
        return 0
    rows = [("URL", "PID", "SERVER", "CLIENTS", "UPTIME", "STARTED BY", "UPSTREAM")]
    for entry in found:
        host = entry["host"]
        rows.append((f"http://{f'[{host}]' if ':' in host else host}:{entry['port']}", str(entry["pid"]),
                     str(entry["server_pid"]) if entry["answering"] else "not answering",
                     str(len(entry["clients"])), entry["uptime"], entry["origin"], str(entry["upstream"] or "")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        sys.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] + "\n")
    return 0


def proxy_stop() -> int:
    """Stop every running proxy of this user (SIGTERM to its supervisor). Exit 1 if one would not stop."""
    from ccprompt.sources.proxy import lifecycle

    paths = _state_dir()
    results = lifecycle.stop_all(paths.state_dir)
    if not results:
        sys.stdout.write("no proxy running\n")
        return 0
    code = 0
    for port, pid, stopped, clients in results:
        if stopped:
            using = f"; {len(clients)} command(s) started through it still run (pids " + \
                ", ".join(map(str, clients)) + ") and now reach no proxy on that port" if clients else ""
            sys.stdout.write(f"stopped the proxy on port {port} (pid {pid}){using}\n")
        else:
            sys.stderr.write(f"ccprompt: the proxy on port {port} (pid {pid}) did not stop\n")
            code = 1
    return code
