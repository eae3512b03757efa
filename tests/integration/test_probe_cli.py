"""`ccprompt probe` against a real HTTPS API on this machine: each answer, each failure."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from harness import (
    TEST_KEY,
    ConnectProxy,
    PlainTCPServer,
    SilentServer,
    UntrustedTLSServer,
    WrongHostTLSServer,
    assert_no_secret,
    refused_port,
)


def probe_json(run_cli, env, *extra):
    result = run_cli("probe", "--json", *extra, env=env)
    assert result.stdout.strip(), result.stderr
    return result, json.loads(result.stdout)


def test_verbose_waterfall_shows_real_phase_timings(run_cli, cc_env, fake_api):
    result = run_cli("probe", "--verbose", env=cc_env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for label in ("DNS lookup", "TCP connect", "TLS handshake", "Server (TTFB)", "Total"):
        assert label in out
    for label in ("endpoint", "credential", "http", "remote ip", "proxy", "error type", "request-id",
                  "retry-after", "rate limit", "verdict"):
        assert f"  {label}" in out
    assert "environment (API key)" in out
    assert "127.0.0.1" in out
    assert "req_test" in out
    assert "healthy" in out
    _, outcome = probe_json(run_cli, cc_env)
    phases = outcome["phases_ms"]
    # A real lookup, a real connect, a real handshake and a real wait for the first byte.
    assert phases["dns"] > 0 and phases["tcp"] > 0 and phases["tls"] > 0 and phases["ttfb"] > 0
    assert phases["total"] >= phases["dns"] + phases["tcp"] + phases["tls"] + phases["ttfb"] - 0.5


def test_request_shape(run_cli, cc_env, fake_api):
    run_cli("probe", env=cc_env)
    request = fake_api.wait_for_requests(1)[0]
    assert request.method == "POST" and request.path == "/v1/messages"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["user-agent"].startswith("ccprompt/")
    assert request.headers["x-api-key"] == TEST_KEY
    assert "authorization" not in request.headers
    assert request.json["max_tokens"] == 1
    assert request.json["messages"] == [{"role": "user", "content": "hi"}]
    assert request.json["model"] == "claude-haiku-4-5"


def test_probe_model_is_configurable(run_cli, cc_env, fake_api):
    run_cli("probe", env={**cc_env, "CCPROMPT_PROBE_MODEL": "claude-test-model"})
    assert fake_api.wait_for_requests(1)[0].json["model"] == "claude-test-model"


@pytest.mark.parametrize(
    "status,error_type,verdict,code",
    [
        (200, None, "healthy", 0),  # a 2xx has no error type (not "success")
        (401, "authentication_error", "error", 1),
        (403, "permission_error", "error", 1),
        (429, "rate_limit_error", "degraded", 0),
        (500, "api_error", "error", 1),
        (504, "timeout_error", "error", 1),
        (529, "overloaded_error", "error", 1),
    ],
)
def test_each_answer_gets_its_verdict(run_cli, cc_env, fake_api, status, error_type, verdict, code):
    headers = {"retry-after": "17"} if status == 429 else None
    fake_api.respond(status=status, headers=headers)
    result, outcome = probe_json(run_cli, cc_env)
    assert result.returncode == code
    assert outcome["http_status"] == status
    assert outcome["error_type"] == error_type
    assert outcome["status"] == verdict
    assert outcome["failure_phase"] is None
    assert outcome["request_id"].startswith("req_test")
    if status == 429:
        assert outcome["retry_after"] == "17"
        verbose = run_cli("probe", "--verbose", env=cc_env).stdout
        assert "retry-after  17" in verbose


def test_body_error_type_wins_over_status(run_cli, cc_env, fake_api):
    fake_api.respond(status=500, body={"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    _, outcome = probe_json(run_cli, cc_env)
    assert outcome["error_type"] == "overloaded_error"


def test_rate_limit_headroom(run_cli, cc_env, fake_api):
    fake_api.respond(headers={
        "anthropic-ratelimit-requests-remaining": "45", "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-tokens-remaining": "1000", "anthropic-ratelimit-tokens-limit": "4000",
    })
    _, outcome = probe_json(run_cli, cc_env)
    assert outcome["ratelimit"]["requests"] == {"remaining": 45, "limit": 50}
    verbose = run_cli("probe", "--verbose", env=cc_env).stdout
    assert "requests 45/50, tokens 1000/4000 (headroom 25%)" in verbose


def test_slow_ttfb_lands_in_the_ttfb_phase(run_cli, cc_env, fake_api):
    fake_api.respond(delay_s=0.6)
    _, outcome = probe_json(run_cli, cc_env)
    assert outcome["phases_ms"]["ttfb"] >= 590
    assert outcome["phases_ms"]["tls"] < 300
    assert outcome["status"] == "healthy"


def test_server_that_never_answers_times_out_on_time(run_cli, cc_env, fake_api):
    fake_api.respond(hang=True)
    started = time.monotonic()
    result, outcome = probe_json(run_cli, cc_env, "--timeout-ms", "800")
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert outcome["failure_phase"] == "timeout"
    assert outcome["stalled_phase"] == "ttfb"
    assert outcome["error_type"] == "connection_error"
    assert outcome["http_status"] == 0
    assert 780 <= outcome["phases_ms"]["total"] < 1500
    assert elapsed < 6  # interpreter start plus the 0.8 s budget
    assert outcome["phases_ms"]["ttfb"] is None and outcome["phases_ms"]["tls"] > 0
    line = run_cli("probe", "--timeout-ms", "500", env=cc_env).stdout
    assert line.startswith("🔴 timeout after 0.5s waiting for the first byte DNS:") and "timed out" in line
    assert "TTFB:" not in line and "|Total:" in line  # only the phases that ran, never a `-`


def test_env_timeout_is_capped(run_cli, cc_env, fake_api):
    fake_api.respond(hang=True)
    _, outcome = probe_json(run_cli, {**cc_env, "CCPROMPT_TIMEOUT_MS": "700"})
    assert outcome["timeout_ms"] == 700
    # The cap (6000) is checked without waiting for it: --no-write plus a quick server.
    fake_api.respond(status=200)
    _, capped = probe_json(run_cli, {**cc_env, "CCPROMPT_TIMEOUT_MS": "90000"}, "--no-write")
    assert capped["timeout_ms"] == 6000


def test_connection_refused_fails_in_tcp(run_cli, cc_env):
    env = {**cc_env, "ANTHROPIC_BASE_URL": f"https://localhost:{refused_port()}"}
    result, outcome = probe_json(run_cli, env)
    assert result.returncode == 1
    assert outcome["failure_phase"] == "tcp"
    assert outcome["phases_ms"]["tcp"] is None and outcome["phases_ms"]["tls"] is None
    assert outcome["error_type"] == "connection_error"


def test_untrusted_certificate_fails_in_tls(run_cli, cc_env):
    with UntrustedTLSServer() as server:
        env = {**cc_env, "ANTHROPIC_BASE_URL": server.url}
        result, outcome = probe_json(run_cli, env)
        verbose = run_cli("probe", "--verbose", env=env).stdout
    assert result.returncode == 1
    assert outcome["failure_phase"] == "tls"
    assert outcome["phases_ms"]["tcp"] is not None and outcome["phases_ms"]["tls"] is None
    assert "certificate" in verbose.lower()


def test_hostname_mismatch_fails_in_tls(run_cli, cc_env, tls_ca):
    with WrongHostTLSServer(tls_ca) as server:
        result, outcome = probe_json(run_cli, {**cc_env, "ANTHROPIC_BASE_URL": server.url})
    assert result.returncode == 1
    assert outcome["failure_phase"] == "tls"


def test_unresolvable_host_fails_in_dns(run_cli, cc_env):
    result, outcome = probe_json(run_cli, {**cc_env, "ANTHROPIC_BASE_URL": "https://api.ccprompt.invalid"})
    assert result.returncode == 1
    assert outcome["failure_phase"] == "dns"
    assert outcome["phases_ms"]["dns"] is None
    line = run_cli("probe", env={**cc_env, "ANTHROPIC_BASE_URL": "https://api.ccprompt.invalid"}).stdout
    # The cause, then only the phases that ran (none here), and DNS named once.
    assert line.startswith("🔴 DNS: no such host Total:") and "-" not in line.split("  ")[0]
    assert line.count("DNS") == 1 and "Could not resolve host" in line


def test_non_tls_peer_fails_in_tls(run_cli, cc_env):
    with PlainTCPServer() as server:
        result, outcome = probe_json(run_cli, {**cc_env, "ANTHROPIC_BASE_URL": f"https://localhost:{server.port}"})
    assert result.returncode == 1
    assert outcome["failure_phase"] == "tls"


def test_silent_peer_times_out_in_the_handshake(run_cli, cc_env):
    with SilentServer() as server:
        _, outcome = probe_json(run_cli, {**cc_env, "ANTHROPIC_BASE_URL": f"https://localhost:{server.port}"},
                                "--timeout-ms", "600")
    assert outcome["failure_phase"] == "timeout" and outcome["stalled_phase"] == "tls"


@pytest.mark.parametrize(
    "variable,header,value,beta",
    [
        ("ANTHROPIC_API_KEY", "x-api-key", TEST_KEY, None),
        ("ANTHROPIC_AUTH_TOKEN", "authorization", f"Bearer {TEST_KEY}", None),
        ("CLAUDE_CODE_OAUTH_TOKEN", "authorization", f"Bearer {TEST_KEY}", "oauth-2025-04-20"),
    ],
)
def test_each_environment_credential_sends_its_header(run_cli, cc_env, fake_api, variable, header, value, beta):
    env = {k: v for k, v in cc_env.items() if k != "ANTHROPIC_API_KEY"}
    env[variable] = TEST_KEY
    _, outcome = probe_json(run_cli, env)
    request = fake_api.wait_for_requests(1)[0]
    assert request.headers[header] == value
    assert request.headers.get("anthropic-beta") == beta
    assert outcome["credential_source"] == "environment"


def _without_credential(env):
    return {k: v for k, v in env.items() if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")}


def test_credential_from_shell_rc_file_is_parsed_not_run(run_cli, cc_env, fake_api):
    env = _without_credential(cc_env)
    home = Path(env["HOME"])
    marker = home / "ran"
    (home / ".bashrc").write_text(
        f"touch {marker}\n"
        f'export ANTHROPIC_BASE_URL="{fake_api.url}"\n'
        f"export ANTHROPIC_API_KEY='{TEST_KEY}'  # the key\n"
    )
    _, outcome = probe_json(run_cli, env)
    assert outcome["credential_source"] == "shell"
    assert fake_api.wait_for_requests(1)[0].headers["x-api-key"] == TEST_KEY
    assert not marker.exists()


def test_credential_from_claude_settings(run_cli, cc_env, fake_api):
    env = _without_credential(cc_env)
    settings = Path(env["HOME"]) / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"env": {"ANTHROPIC_AUTH_TOKEN": TEST_KEY, "ANTHROPIC_BASE_URL": fake_api.url}}))
    _, outcome = probe_json(run_cli, env)
    assert outcome["credential_source"] == "claude_settings"
    assert fake_api.wait_for_requests(1)[0].headers["authorization"] == f"Bearer {TEST_KEY}"


def test_environment_beats_rc_files_and_settings(run_cli, cc_env, fake_api):
    home = Path(cc_env["HOME"])
    (home / ".zshrc").write_text("export ANTHROPIC_API_KEY=sk-from-zshrc\n")
    _, outcome = probe_json(run_cli, cc_env)
    assert outcome["credential_source"] == "environment"
    assert fake_api.wait_for_requests(1)[0].headers["x-api-key"] == TEST_KEY


def test_anonymous_probe_judges_an_anthropic_401_on_latency(run_cli, cc_env, fake_api):
    env = {k: v for k, v in cc_env.items() if k != "ANTHROPIC_API_KEY"}
    fake_api.respond(status=401)
    result, outcome = probe_json(run_cli, env)
    assert result.returncode == 0
    assert outcome["credential_source"] == "none"
    assert outcome["auth"] == "not checked"
    assert outcome["status"] == "healthy"
    request = fake_api.wait_for_requests(1)[0]
    assert "x-api-key" not in request.headers and "authorization" not in request.headers
    verbose = run_cli("probe", "--verbose", env=env).stdout
    assert "anonymous probe: auth not checked" in verbose


def test_anonymous_off_restores_the_seed_behaviour(run_cli, cc_env, fake_api):
    env = {k: v for k, v in cc_env.items() if k != "ANTHROPIC_API_KEY"}
    config = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("anonymous = false\n")
    result = run_cli("probe", env=env)
    assert result.returncode == 2
    assert "Env vars NOT Found" in result.stderr
    assert fake_api.request_count == 0
    status = run_cli("status", env=env).stdout
    assert status.strip() == "⚪ Env vars NOT Found"


def test_https_proxy_is_honoured(run_cli, cc_env, fake_api):
    with ConnectProxy() as proxy:
        env = {**cc_env, "HTTPS_PROXY": proxy.url}
        _, outcome = probe_json(run_cli, env)
        assert proxy.connects == [fake_api.url.split("://", 1)[1]]
        # The credential goes through the tunnel, never to the proxy in clear.
        assert all(TEST_KEY not in str(r.headers) for r in proxy.requests)
        _, direct = probe_json(run_cli, {**env, "NO_PROXY": fake_api.url.split("://")[1].split(":")[0]})
        assert len(proxy.connects) == 1
    assert outcome["status"] == "healthy"
    assert outcome["proxy"] == proxy.url
    assert direct["proxy"] == proxy.url and direct["status"] == "healthy"


def test_extra_ca_certificates_are_added(run_cli, cc_env, fake_api, tmp_path):
    # An unrelated bundle as the main one: only NODE_EXTRA_CA_CERTS makes the fake API trusted.
    from harness import LocalCA

    (tmp_path / "other").mkdir()
    other = LocalCA.create(tmp_path / "other")
    env = {**cc_env, "SSL_CERT_FILE": other.ca_file}
    _, failing = probe_json(run_cli, env)
    assert failing["failure_phase"] == "tls"
    _, passing = probe_json(run_cli, {**env, "NODE_EXTRA_CA_CERTS": fake_api.ca_file})
    assert passing["status"] == "healthy"


def test_state_is_written_atomically_with_private_permissions(run_cli, cc_env, fake_api):
    run_cli("probe", env=cc_env)
    home = Path(cc_env["CCPROMPT_HOME"])
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    state_file = home / "monitoring.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    state = json.loads(state_file.read_text())
    assert state["status"] == "healthy"
    assert state["api_config"] == {"endpoint": fake_api.messages_url, "source": "environment"}
    assert state["network"]["last_http_status"] == 200
    assert state["timestamp"][-6] in "+-"  # local time with its offset
    assert not [p for p in os.listdir(home) if p.endswith(".tmp")]


def test_no_write_leaves_no_state(run_cli, cc_env, fake_api):
    result = run_cli("probe", "--no-write", env=cc_env)
    assert result.returncode == 0
    assert not (Path(cc_env["CCPROMPT_HOME"]) / "monitoring.json").exists()


def test_usage_errors_exit_2(run_cli, cc_env):
    result = run_cli("probe", "--timeout-ms", "soon", env=cc_env)
    assert result.returncode == 2
    config = Path(cc_env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("this is = = not toml\n")
    broken = run_cli("probe", env=cc_env)
    assert broken.returncode == 2
    assert "not valid TOML" in broken.stderr and "Traceback" not in broken.stderr


def test_the_key_never_leaks(run_cli, cc_env, fake_api, tmp_path):
    env = {**cc_env, "CCPROMPT_DEBUG": "1"}
    results = [run_cli("probe", "--verbose", env=env), run_cli("probe", "--json", env=env)]
    fake_api.respond(status=401)
    results.append(run_cli("probe", "--verbose", env=env))
    results.append(run_cli("probe", "--json", env={**env, "ANTHROPIC_BASE_URL": "https://x.invalid"}))
    results.append(run_cli("status", "--json", env=env))
    home = Path(env["CCPROMPT_HOME"])
    assert (home / "debug.log").exists()
    events = [json.loads(line) for line in (home / "debug.log").read_text().splitlines()]
    assert any(e.get("token_length") == len(TEST_KEY) for e in events)
    assert_no_secret(*results, home)


def test_http_proxy_is_the_fallback_for_https(run_cli, cc_env, fake_api):
    with ConnectProxy() as proxy:
        _, outcome = probe_json(run_cli, {**cc_env, "HTTP_PROXY": proxy.url})
        assert len(proxy.connects) == 1
    assert outcome["status"] == "healthy"
