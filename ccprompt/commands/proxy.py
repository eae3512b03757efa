"""`ccprompt proxy`: the pass-through proxy in the foreground, supervised, until stopped."""

from __future__ import annotations

import sys

from ccprompt.core.errors import CcpromptError


def proxy(host: str = "127.0.0.1", port: int | None = None, capture: str | None = None) -> int:
    """Print the proxy's URL once it listens; exit 0 on SIGTERM/SIGINT, 1 if the server cannot run."""
    import os

    from ccprompt.core import files
    from ccprompt.core.paths import Paths
    from ccprompt.sources.proxy import supervisor
    from ccprompt.sources.proxy.upstream import resolve

    paths = Paths()
    problem = files.unsafe_dir(paths.state_dir)
    if problem:
        raise CcpromptError(f"refusing the state directory: {problem}")
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
    except OSError as exc:
        raise CcpromptError(f"cannot listen on {host}:{port or 0}: {exc.strerror or exc}") from None
