"""Doctor's printed report is the last pass before the terminal: what a check quotes (a server's
name, an error's text) reaches it without an escape sequence, whatever the check forgot."""

from __future__ import annotations

import json
import sys

from ccprompt.ops.doctor import mcpcheck, report
from ccprompt.ops.doctor.context import Context
from ccprompt.ops.doctor.registry import Check

HOSTILE = "evil\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\u202e\x9b31m"

SERVER = """
import json, sys
sys.stdin.readline()
name = {name!r}
print(json.dumps({{"jsonrpc": "2.0", "id": 1, "result": {{"serverInfo": {{"name": name, "version": name}}}}}}))
sys.stdout.flush()
sys.stdin.read()
"""


def test_a_registered_server_naming_itself_with_escapes_prints_none_of_them(tmp_path):
    script = tmp_path / "ccprompt-fake.py"
    script.write_text(SERVER.format(name=HOSTILE))
    home = tmp_path / "home"
    home.mkdir()
    entry = {"command": sys.executable, "args": [str(script), "mcp"]}
    (home / ".claude.json").write_text(json.dumps({"mcpServers": {"ccprompt": entry}}))
    finding = mcpcheck.mcp_server(Context({"HOME": str(home), "PATH": "/usr/bin:/bin"}))
    assert finding.level == "ok" and "evil" in finding.detail, finding
    text = report.format_report([Check("mcp", "MCP server", finding.level, finding.detail, finding.fix)])
    assert "evil" in text
    for bad in ("\x1b", "\x07", "\u202e", "\x9b"):
        assert bad not in text, repr(text)


def test_a_fix_is_printed_clean_too():
    text = report.format_report([Check("x", "X", "fail", "plain", "run " + HOSTILE)])
    assert "run evil" in text and "\x1b" not in text and "\x07" not in text
