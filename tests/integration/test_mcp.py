"""The MCP server answers the SDK's own stdio client; `install mcp` registers it the way Claude Code reads it."""

from __future__ import annotations

import json
import sys

import pytest

from harness import REPO_ROOT, assert_no_secret
from harness.sessionfiles import place_transcript

mcp = pytest.importorskip("mcp", reason="the ccprompt[mcp] extra is not installed")


async def _call_every_tool(env: dict) -> dict:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "ccprompt", "mcp"], env=env, cwd=str(REPO_ROOT))
    answers = {}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            answers["tools"] = sorted(tool.name for tool in listed.tools)
            for name, arguments in (("api_health", {}), ("recent_history", {"since": "1h"}),
                                    ("session_list", {"since": "2h"}), ("doctor", {})):
                result = await session.call_tool(name, arguments)
                assert not result.isError, (name, result.content)
                answers[name] = result.structuredContent or json.loads(result.content[0].text)
    return answers


def test_a_real_mcp_client_lists_and_calls_every_tool(cc_env, run_cli, tmp_path):
    import anyio

    probe = run_cli("probe", env=cc_env)
    assert probe.returncode == 0, probe.stderr
    place_transcript(cc_env, "transcript-cc-2.1.197-529.jsonl", waiting=True)
    answers = anyio.run(_call_every_tool, cc_env)
    assert answers["tools"] == ["api_health", "doctor", "recent_history", "session_list"]
    health = answers["api_health"]
    assert health["status"] == "healthy" and health["reason"]
    assert answers["recent_history"]["records"], answers["recent_history"]
    sessions = answers["session_list"]["sessions"]
    assert [s["state"] for s in sessions] == ["waiting"] and sessions[0]["project"] == "app"
    assert "waiting" in answers["session_list"]["table"]
    doctor = answers["doctor"]
    assert doctor["checks"] and "ok" in doctor
    assert_no_secret(json.dumps(answers))


def _claude_json(env) -> dict:
    from pathlib import Path

    return json.loads((Path(env["HOME"]) / ".claude.json").read_text())


def test_install_mcp_keeps_every_other_key_and_uninstall_removes_only_ours(cc_env, run_cli):
    from pathlib import Path

    config = Path(cc_env["HOME"]) / ".claude.json"
    original = {"hasCompletedOnboarding": True, "projects": {"/w": {"allowedTools": []}},
                "mcpServers": {"other": {"type": "stdio", "command": "other-server", "args": []}}}
    config.write_text(json.dumps(original))
    dry = run_cli("install", "mcp", "--dry-run", env=cc_env)
    assert dry.returncode == 0 and "would set mcpServers.ccprompt" in dry.stdout
    assert json.loads(config.read_text()) == original
    done = run_cli("install", "mcp", env=cc_env)
    assert done.returncode == 0, done.stderr
    assert "backup:" in done.stdout
    data = _claude_json(cc_env)
    ours = data["mcpServers"]["ccprompt"]
    assert ours["type"] == "stdio" and ours["args"][-1] == "mcp" and ours["env"] == {}
    assert data["mcpServers"]["other"] == original["mcpServers"]["other"]
    assert data["projects"] == original["projects"] and data["hasCompletedOnboarding"] is True
    again = run_cli("install", "mcp", env=cc_env)
    assert "nothing to change" in again.stdout
    backups = list(config.parent.glob(".claude.json.ccprompt-*.bak"))
    assert len(backups) == 1 and json.loads(backups[0].read_text()) == original
    assert oct(backups[0].stat().st_mode & 0o777) == "0o600"
    removed = run_cli("uninstall", "mcp", env=cc_env)
    assert removed.returncode == 0 and "removed" in removed.stdout
    assert _claude_json(cc_env) == original
    assert "nothing to change" in run_cli("uninstall", "mcp", env=cc_env).stdout


def test_install_mcp_follows_claude_config_dir(cc_env, run_cli, tmp_path):
    config_dir = tmp_path / "claude-config"
    env = {**cc_env, "CLAUDE_CONFIG_DIR": str(config_dir)}
    assert run_cli("install", "mcp", env=env).returncode == 0
    assert "ccprompt" in json.loads((config_dir / ".claude.json").read_text())["mcpServers"]


def test_the_registered_command_really_starts_the_server(cc_env, run_cli):
    """What Claude Code will run, exactly as written in ~/.claude.json."""
    import anyio

    assert run_cli("install", "mcp", env=cc_env).returncode == 0
    entry = _claude_json(cc_env)["mcpServers"]["ccprompt"]

    async def listing():
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client

        params = StdioServerParameters(command=entry["command"], args=entry["args"], env=cc_env)
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return [tool.name for tool in (await session.list_tools()).tools]

    assert "api_health" in anyio.run(listing)
