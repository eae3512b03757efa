"""The MCP server's setup: it works from every install path (mcp is a dependency), `install mcp`
registers only a server that answers, doctor checks it, and the server says ccprompt's version
and keeps stderr quiet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness import REPO_ROOT

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "test", "version": "1"}}}


def exchange(env, *messages):
    """Send `messages`, read until every request among them is answered, then close stdin (the
    server stops when stdin closes, so it must stay open until then). Returns (answers, stderr)."""
    server = subprocess.Popen([sys.executable, "-m", "ccprompt", "mcp"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO_ROOT, text=True)
    try:
        server.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
        server.stdin.flush()
        wanted = {m["id"] for m in messages if "id" in m}
        answers = {}
        while wanted - set(answers):
            line = server.stdout.readline()
            if not line:
                break
            message = json.loads(line)
            if "id" in message:
                answers[message["id"]] = message
        server.stdin.close()
        server.wait(timeout=30)
        stderr = server.stderr.read()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    return answers, stderr


def test_server_info_is_ccpromptss_version_and_stderr_stays_quiet(cc_env):
    from ccprompt import __version__

    answers, stderr = exchange(cc_env, INITIALIZE, {"jsonrpc": "2.0", "method": "notifications/initialized"},
                               {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    # Before: serverInfo.version was the SDK's (1.30.0), and an INFO line went to stderr per request.
    assert answers[1]["result"]["serverInfo"] == {"name": "ccprompt", "version": __version__}
    assert answers[2]["result"]["tools"]
    assert stderr == "", stderr


def broken_install(tmp_path, env):
    """An installed `ccprompt` whose environment lacks the mcp package (as pipx's did): a console
    script named ccprompt, so that `install mcp` registers it, in which `import mcp` fails."""
    shadow = tmp_path / "shadow"
    (shadow / "mcp").mkdir(parents=True)
    (shadow / "mcp" / "__init__.py").write_text("raise ImportError('No module named mcp', name='mcp')\n")
    script = tmp_path / "bin" / "ccprompt"
    script.parent.mkdir()
    script.write_text(f"""#!/bin/sh
PYTHONPATH={shadow}:{REPO_ROOT} exec {sys.executable} -c 'import runpy, sys; sys.argv[0] = "{script}"; runpy.run_module("ccprompt", run_name="__main__")' "$@"
""")
    script.chmod(0o755)
    return script


def run_installed(script, env, *argv, timeout=90):
    return subprocess.run([str(script), *argv], env=env, capture_output=True, text=True, timeout=timeout)


def test_a_broken_server_is_named_with_its_fix_and_never_registered(cc_env, tmp_path):
    script = broken_install(tmp_path, cc_env)
    direct = run_installed(script, cc_env, "mcp")
    # Before: `install it with: pip install 'ccprompt[mcp]'`, a PyPI name that belongs to someone else.
    assert direct.returncode == 1 and "ccprompt[mcp]" not in direct.stderr
    assert direct.stderr.startswith("ccprompt: the MCP server needs the mcp package") and "fix: " in direct.stderr
    registered = run_installed(script, cc_env, "install", "mcp")
    assert registered.returncode == 1 and registered.stderr.startswith(f"ccprompt: not registered: `{script} mcp`")
    assert "does not work as an MCP server" in registered.stderr
    assert not (Path(cc_env["HOME"]) / ".claude.json").exists()  # before: the broken server was registered


def test_doctor_checks_the_registered_server(cc_env, run_cli, tmp_path):
    assert run_cli("install", "mcp", env=cc_env, timeout=60).returncode == 0
    good = run_cli("doctor", env={**cc_env, "NO_COLOR": "1"}, timeout=90).stdout
    assert "✓ MCP server   registered in " in good and "ccprompt 0.1.0 answers" in good
    # The registered command breaks later (a virtualenv without mcp): doctor says so.
    claude_json = Path(cc_env["HOME"]) / ".claude.json"
    document = json.loads(claude_json.read_text())
    document["mcpServers"]["ccprompt"].update(command=str(broken_install(tmp_path, cc_env)), args=["mcp"])
    claude_json.write_text(json.dumps(document))
    broken = run_cli("doctor", env={**cc_env, "NO_COLOR": "1"}, timeout=90).stdout
    line = next(text for text in broken.splitlines() if "MCP server" in text)
    assert line.startswith("✗ MCP server") and "it did not answer initialize" in line, broken
