"""Doctor's MCP check, and the handshake `install mcp` makes before it registers the server.

The one honest test of an MCP server is the one Claude Code makes: start the registered
command and ask it to `initialize`. A server that cannot start (the `mcp` package missing,
a deleted virtualenv) is named with the fix for the way ccprompt was installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ccprompt.ops.doctor import local
from ccprompt.ops.doctor.registry import fail, ok, warn

registry = local.registry
check = registry.check

HANDSHAKE_TIMEOUT_S = 20.0
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "ccprompt-check", "version": "1"}}}


def reinstall_hint(prefix: str | None = None) -> str:
    """How to get the `mcp` package into this installation, for the way it was installed."""
    prefix = prefix or sys.prefix
    if f"{os.sep}pipx{os.sep}venvs{os.sep}" in prefix + os.sep:
        return "pipx install --force <your ccprompt clone> (or: pipx inject ccprompt 'mcp>=1.2,<2')"
    if f"{os.sep}uv{os.sep}tools{os.sep}" in prefix + os.sep:
        return "uv tool install --reinstall <your ccprompt clone> (or add: --with 'mcp>=1.2,<2')"
    if prefix.rstrip(os.sep).endswith(os.path.join("ccprompt", "venv")):
        return "./install.sh again from your ccprompt clone"
    return f"{sys.executable} -m pip install 'mcp>=1.2,<2'"


def handshake(argv: list, env=None, timeout_s: float = HANDSHAKE_TIMEOUT_S) -> tuple[str | None, dict]:
    """(None, serverInfo) when `argv` answers `initialize` as an MCP server; else (the problem, {}).

    stdin stays open until the answer (or the time limit): the server stops when stdin closes."""
    import selectors
    import time

    try:
        server = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=dict(os.environ if env is None else env), cwd="/")
    except FileNotFoundError:
        return f"{argv[0]} does not exist", {}
    except PermissionError:
        return f"{argv[0]} cannot be run", {}
    deadline = time.monotonic() + timeout_s
    output, errors = b"", b""
    try:
        server.stdin.write((json.dumps(INITIALIZE) + "\n").encode())
        server.stdin.flush()
        with selectors.DefaultSelector() as selector:
            selector.register(server.stdout, selectors.EVENT_READ)
            selector.register(server.stderr, selectors.EVENT_READ)
            while selector.get_map() and time.monotonic() < deadline:
                for key, _ in selector.select(max(deadline - time.monotonic(), 0.01)):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fileobj)
                    elif key.fileobj is server.stdout:
                        output += chunk
                    else:
                        errors = (errors + chunk)[-4096:]
                info = _server_info(output)
                if info is not None:
                    return None, info
    except OSError as exc:
        return f"it stopped before answering ({exc.strerror or exc})", {}
    finally:
        for stream in (server.stdin, server.stdout, server.stderr):
            try:
                stream.close()
            except OSError:
                pass
        try:
            server.wait(timeout=3)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    if time.monotonic() >= deadline:
        return f"no answer to initialize within {timeout_s:g}s", {}
    said = (errors.decode("utf-8", "replace").strip().splitlines() or [f"exit {server.returncode}"])[-1]
    from ccprompt.core.text import sanitize

    return f"it did not answer initialize: {sanitize(said, 200)}", {}


def _server_info(output: bytes):
    for line in output.decode("utf-8", "replace").splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("id") == 1 and isinstance(message.get("result"), dict):
            info = message["result"].get("serverInfo")
            return info if isinstance(info, dict) else {}
    return None


@check("mcp", "MCP server")
def mcp_server(ctx):
    from importlib.util import find_spec

    from ccprompt.surfaces import claude_mcp

    path = claude_mcp.config_path(ctx.env)
    entry = _registered(path)
    if entry is None:
        if find_spec("mcp") is None:
            return warn("not registered, and this installation lacks the mcp package", reinstall_hint())
        return ok("not registered (optional: `ccprompt install mcp` lets Claude ask ccprompt itself)")
    argv = [entry.get("command")] + list(entry.get("args") or [])
    if not all(isinstance(word, str) for word in argv):
        return fail(f"the entry in {path} is malformed", "ccprompt install mcp")
    from ccprompt.core.paths import imports_from_cwd

    if imports_from_cwd(argv):  # not started: in this directory it could run someone else's code
        return warn(f"registered in {path} as `python -m ccprompt`, which imports a ccprompt/ directory of the "
                    "project Claude Code runs it in", "ccprompt install mcp", {"command": argv})
    if ctx.deadline.expired():
        return warn(f"registered in {path}; not started: doctor's budget ran out", "ccprompt doctor again")
    problem, info = handshake(argv, ctx.env, max(min(HANDSHAKE_TIMEOUT_S, ctx.deadline.remaining()), 3.0))
    if problem:
        return fail(f"registered in {path}, but {problem}",
                    f"{reinstall_hint()}; then ccprompt install mcp", {"command": argv})
    return ok(f"registered in {path}; {info.get('name', '?')} {info.get('version', '?')} answers",
              {"command": argv, "server": info})


def _registered(path: str):
    from ccprompt.core import files
    from ccprompt.surfaces import claude_mcp

    try:
        document = json.loads(files.read_regular(path, 16 << 20))
    except (OSError, ValueError):
        return None
    servers = document.get("mcpServers") if isinstance(document, dict) else None
    entry = servers.get(claude_mcp.SERVER_NAME) if isinstance(servers, dict) else None
    return entry if isinstance(entry, dict) and claude_mcp.is_ours(entry) else None
