"""Credential parsing (never executing rc files) and sanitising foreign text."""

from ccprompt.core.model import MonitorState
from ccprompt.core.paths import Paths
from ccprompt.core.render import network_segment as _segment
from ccprompt.core.text import sanitize
from ccprompt.sources import credentials


def resolve(env, home):
    return credentials.resolve(Paths({**env, "HOME": home}))


def network_segment(document, style="full"):
    return _segment(MonitorState.from_json({"schema": 1, **document}) if document else None, style)


def test_rc_exports_are_parsed_literally():
    text = """
# comment
export ANTHROPIC_API_KEY="sk-quoted"
export ANTHROPIC_AUTH_TOKEN='single'   # trailing comment
export ANTHROPIC_BASE_URL=https://proxy.example/anthropic # note
ANTHROPIC_MODEL=ignored
export OTHER=1
"""
    assert credentials.parse_rc_exports(text) == {
        "ANTHROPIC_API_KEY": "sk-quoted",
        "ANTHROPIC_AUTH_TOKEN": "single",
        "ANTHROPIC_BASE_URL": "https://proxy.example/anthropic",
    }


def test_values_only_a_shell_could_compute_are_refused():
    text = 'export ANTHROPIC_API_KEY=sk-first\nexport ANTHROPIC_API_KEY="$(pass show anthropic)"\n'
    assert credentials.parse_rc_exports(text) == {}
    assert credentials.parse_rc_exports("export ANTHROPIC_API_KEY=`cat key`\n") == {}


def test_resolve_order_and_secrecy(tmp_path):
    (tmp_path / ".zshrc").write_text("export ANTHROPIC_AUTH_TOKEN=from-zshrc\n")
    (tmp_path / ".bashrc").write_text("export ANTHROPIC_AUTH_TOKEN=from-bashrc\nexport ANTHROPIC_BASE_URL=https://b.example\n")
    found = resolve({}, str(tmp_path))
    assert found.source == "shell" and found.kind == "auth_token"
    assert found.auth_headers() == ["Authorization: Bearer from-zshrc"]
    assert found.base_url == "https://b.example" and found.endpoint == "https://b.example/v1/messages"
    assert "from-zshrc" not in repr(found) and "from-zshrc" not in str(found.describe())
    env = resolve({"CLAUDE_CODE_OAUTH_TOKEN": "oauth"}, str(tmp_path))
    assert env.source == "environment"
    assert env.auth_headers() == ["Authorization: Bearer oauth", "anthropic-beta: oauth-2025-04-20"]
    none = resolve({}, str(tmp_path / "empty"))
    assert none.source == "none" and none.auth_headers() == [] and none.base_url == "https://api.anthropic.com"


def test_sanitize_removes_sequences_not_text():
    assert sanitize("a\x1b[31mred\x1b[0m") == "ared"
    assert sanitize("x\x1b]2;title\x07y") == "xy"
    assert sanitize("x\x1b]8;;http://e\x1b\\link\x1b]8;;\x1b\\y") == "xlinky"
    assert sanitize("\u202eevil\u200b") == "evil"
    assert sanitize("line\nbreak\ttab") == "line break tab"
    assert sanitize("\x9b2Jz") == "z"
    assert sanitize("é 日本 🟢") == "é 日本 🟢"
    assert len(sanitize("x" * 500, 50)) == 50


def test_network_segment_styles():
    degraded = {"status": "degraded", "network": {"latency_ms": 990, "p95_latency_ms": 450, "phases_ms": {
        "dns": 12, "tcp": 30, "tls": 45, "ttfb": 890, "total": 990}}}
    assert network_segment(degraded) == "🟡 P95:450ms DNS:12ms|TCP:30ms|TLS:45ms|TTFB:890ms|Total:990ms"
    assert network_segment(degraded, "short") == "🟡 990ms"
    assert network_segment(degraded, "icon") == "🟡"
    error = {"status": "error", "reason": "timed out after 2000 ms during TTFB",
             "network": {"failure_phase": "timeout", "timeout_ms": 2000,
                         "phases_ms": {"dns": 12, "tcp": 28, "tls": 45, "ttfb": None, "total": 2000}}}
    assert network_segment(error) == ("🔴 timeout after 2s waiting for the first byte "
                                      "DNS:12ms|TCP:28ms|TLS:45ms|Total:2000ms")  # never a `-`
    assert network_segment(error, "short") == "🔴 timeout after 2s waiting for the first byte"
    reused = {"status": "degraded", "network": {"p95_latency_ms": 0, "reused": {"dns": True, "tcp": True, "tls": True},
                                                "phases_ms": {"dns": None, "tcp": None, "tls": None, "ttfb": 890, "total": 890}}}
    assert network_segment(reused) == "🟡 P95:N/A DNS:reuse|TCP:reuse|TLS:reuse|TTFB:890ms|Total:890ms"
    assert network_segment({"status": "healthy", "network": {"p95_latency_ms": 450}}) == "🟢 P95:450ms"
    assert network_segment(None) == "⚪ no probe yet"
    assert network_segment({"status": "weird"}) == "⚪ no probe yet"


def test_settings_json_follows_claude_config_dir(tmp_path):
    config_dir = tmp_path / "elsewhere"
    config_dir.mkdir()
    (config_dir / "settings.json").write_text('{"env": {"ANTHROPIC_API_KEY": "sk-from-config-dir"}}')
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text('{"env": {"ANTHROPIC_API_KEY": "sk-from-home"}}')
    found = resolve({"CLAUDE_CONFIG_DIR": str(config_dir)}, str(tmp_path))
    assert found.source == "claude_settings"
    assert found.auth_headers() == ["x-api-key: sk-from-config-dir"]
    assert resolve({}, str(tmp_path)).auth_headers() == ["x-api-key: sk-from-home"]


def test_sanitize_drops_c1_bidi_and_zero_width_characters():
    assert sanitize("a\u0085b\u009cc") == "abc"
    assert sanitize("\u2066x\u2069\u200ey\u200f\u061cz") == "xyz"
    assert sanitize("join\u200dme\u200c") == "joinme"
    assert sanitize("lone \ud800 surrogate") == "lone  surrogate"
    assert sanitize("\x1bPdevice control\x1b\\after") == "after"
    assert sanitize("osc52 \x1b]52;c;aGVsbG8=\x07done") == "osc52 done"


def test_inside_claude_code_the_base_url_is_the_environments_or_the_default(tmp_path):
    (tmp_path / ".bashrc").write_text("export ANTHROPIC_BASE_URL=https://gateway.example\n"
                                      "export ANTHROPIC_API_KEY=sk-from-bashrc\n")
    outside = resolve({}, str(tmp_path))
    assert (outside.base_url, outside.base_url_source) == ("https://gateway.example", "shell")
    inside = resolve({"CLAUDECODE": "1"}, str(tmp_path))
    assert (inside.base_url, inside.base_url_source) == (credentials.DEFAULT_BASE_URL, "default")
    assert inside.source == "shell" and inside.auth_headers() == ["x-api-key: sk-from-bashrc"]
    ours = resolve({"CLAUDECODE": "1", "ANTHROPIC_BASE_URL": "https://ours.example"}, str(tmp_path))
    assert (ours.base_url, ours.base_url_source) == ("https://ours.example", "environment")
