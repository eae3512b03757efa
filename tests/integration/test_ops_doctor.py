"""`ccprompt doctor` finds each kind of breakage and says how to fix it."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from harness import UntrustedTLSServer, assert_no_secret, refused_port


def lines_of(result) -> dict:
    """{title: (mark, detail, fix or None)} from the human report."""
    checks, last = {}, None
    for line in result.stdout.splitlines():
        match = re.match(r"^([✓!✗]) (\S+(?: \S+)?)\s{2,}(.*)$", line)
        if match:
            last = match.group(2)
            checks[last] = [match.group(1), match.group(3), None]
        elif line.strip().startswith("fix: ") and last:
            checks[last][2] = line.strip()[len("fix: "):]
    return {k: tuple(v) for k, v in checks.items()}


def install_shell_line(env) -> None:
    (Path(env["HOME"]) / ".zshrc").write_text('# >>> ccprompt >>>\neval "$(ccprompt init zsh)"\n# <<< ccprompt <<<\n')


def test_a_healthy_setup_passes_every_check(fake_api, cc_env, run_cli):
    assert run_cli("probe", env=cc_env).returncode == 0
    assert run_cli("install", "statusline", env=cc_env).returncode == 0
    install_shell_line(cc_env)
    result = run_cli("doctor", env=cc_env)
    checks = lines_of(result)
    assert result.returncode == 0, result.stdout
    assert list(checks) == ["ccprompt", "config", "credential", "base URL", "DNS", "proxy", "CA bundle", "TCP",
                            "TLS", "probe", "state dir", "state", "watch", "status line", "shell", "clock",
                            "MCP server"]
    assert {mark for mark, _, _ in checks.values()} == {"✓"}, result.stdout
    assert re.search(r"API key ANTHROPIC_API_KEY from environment, 50 characters", checks["credential"][1])
    assert "not the official API" in checks["base URL"][1]
    assert re.search(r"-> 127\.0\.0\.1 in [\d.]+ ms", checks["DNS"][1])
    assert "(SSL_CERT_FILE), 1 certificate; NODE_EXTRA_CA_CERTS not set" in checks["CA bundle"][1]
    assert re.search(r"TLSv1\.[23] in [\d.]+ ms, certificate valid until \d{4}-\d\d-\d\d", checks["TLS"][1])
    assert checks["probe"][1].startswith("🟢 healthy: HTTP 200")
    assert checks["probe"][1].endswith("(not recorded)")
    assert "mode 0700" in checks["state dir"][1]
    assert re.search(r"healthy, last probe \d+ s ago", checks["state"][1])
    assert checks["status line"][1].endswith(f"{sys.executable} -P -m ccprompt statusline")
    assert "init line in ~/.zshrc" in checks["shell"][1]
    assert re.search(r"[+-]\d+\.\d s against the server's Date header", checks["clock"][1])
    assert result.stdout.rstrip().endswith("no problems")
    posts = [r for r in fake_api.requests if r.method == "POST"]
    assert len(posts) == 2  # the recorded probe and doctor's own, nothing else
    assert [r.method for r in fake_api.requests].count("HEAD") == 1  # the clock check's Date header
    history = Path(cc_env["CCPROMPT_HOME"]) / "history.jsonl"
    assert len(history.read_text().splitlines()) == 1  # doctor's probe is not recorded
    assert_no_secret(result, Path(cc_env["HOME"]))


def test_missing_credential_is_a_failure_when_anonymous_probing_is_off(fake_api, cc_env, run_cli):
    env = dict(cc_env)
    del env["ANTHROPIC_API_KEY"]
    config = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("anonymous = false\n")
    result = run_cli("doctor", env=env)
    checks = lines_of(result)
    assert result.returncode == 1
    mark, detail, fix = checks["credential"]
    assert mark == "✗" and "none found, and anonymous = false" in detail
    assert fix.startswith("export ANTHROPIC_API_KEY=") and "anonymous = true" in fix
    assert checks["probe"][0] == "✗"
    assert not [r for r in fake_api.requests if r.method == "POST"]  # nothing was probed


def test_missing_credential_is_a_warning_when_probing_anonymously(fake_api, cc_env, run_cli):
    env = dict(cc_env)
    del env["ANTHROPIC_API_KEY"]
    fake_api.respond(status=401)
    result = run_cli("doctor", env=env)
    checks = lines_of(result)
    mark, detail, fix = checks["credential"]
    assert mark == "!" and "probing anonymously" in detail and fix.startswith("export ANTHROPIC_API_KEY=")
    # An Anthropic-shaped 401 still proves the path: no ✗ anywhere.
    assert checks["probe"][0] == "✓" and "auth not checked" in checks["probe"][1]
    assert result.returncode == 0, result.stdout


def test_unresolvable_host(cc_env, run_cli):
    env = dict(cc_env, ANTHROPIC_BASE_URL="https://api.ccprompt-test.invalid")
    result = run_cli("doctor", env=env)
    checks = lines_of(result)
    assert result.returncode == 1
    mark, detail, fix = checks["DNS"]
    assert mark == "✗" and detail.startswith("cannot resolve api.ccprompt-test.invalid")
    assert fix.startswith("check the host in ANTHROPIC_BASE_URL (environment)")
    assert checks["TCP"][0] == "!" and checks["TCP"][2] == "resolve the DNS problem above first"
    assert checks["probe"][0] == "✗" and "see the DNS line above" in checks["probe"][2]
    assert_no_secret(result)


def test_untrusted_certificate(cc_env, run_cli):
    with UntrustedTLSServer() as server:
        env = dict(cc_env, ANTHROPIC_BASE_URL=server.url)
        result = run_cli("doctor", env=env)
    checks = lines_of(result)
    assert result.returncode == 1
    assert checks["TCP"][0] == "✓"
    mark, detail, fix = checks["TLS"]
    assert mark == "✗" and "not trusted" in detail and "certificate" in detail
    assert "NODE_EXTRA_CA_CERTS=/path/to/ca.pem" in fix
    assert checks["probe"][0] == "✗" and "see the TLS line above" in checks["probe"][2]
    assert_no_secret(result)


def test_connection_refused(cc_env, run_cli):
    env = dict(cc_env, ANTHROPIC_BASE_URL=f"https://localhost:{refused_port()}")
    checks = lines_of(run_cli("doctor", env=env))
    mark, detail, fix = checks["TCP"]
    assert mark == "✗" and "Connection refused" in detail and fix.startswith("nothing listens there")


@pytest.mark.parametrize("mode,mark", [(0o777, "✗"), (0o755, "!")])
def test_state_dir_with_wrong_permissions(fake_api, cc_env, run_cli, mode, mark):
    home = Path(cc_env["CCPROMPT_HOME"])
    home.mkdir(parents=True)
    os.chmod(home, mode)
    result = run_cli("doctor", env=cc_env)
    found, detail, fix = lines_of(result)["state dir"]
    assert found == mark and f"has mode {mode:04o}" in detail
    assert fix == f"chmod 700 {home}"
    assert result.returncode == (1 if mark == "✗" else 0)


def test_statusline_not_installed_or_pointing_elsewhere(fake_api, cc_env, run_cli):
    mark, detail, fix = lines_of(run_cli("doctor", env=cc_env))["status line"]
    assert mark == "!" and detail.startswith("not installed")
    assert fix.startswith("ccprompt install statusline")

    settings = Path(cc_env["HOME"]) / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"statusLine": {"type": "command", "command": "~/bin/my-line.sh"}}))
    mark, detail, fix = lines_of(run_cli("doctor", env=cc_env))["status line"]
    assert mark == "!" and detail == "runs something else: ~/bin/my-line.sh"
    assert fix.startswith("ccprompt install statusline")

    settings.write_text(json.dumps({"statusLine": {"type": "command", "command": "/gone/bin/ccprompt statusline"}}))
    mark, detail, fix = lines_of(run_cli("doctor", env=cc_env))["status line"]
    assert mark == "✗" and "/gone/bin/ccprompt, which is missing" in detail


def test_json_report(fake_api, cc_env, run_cli):
    result = run_cli("doctor", "--json", env=cc_env)
    document = json.loads(result.stdout)
    assert result.returncode == 0 and document["ok"] is True and document["failures"] == 0
    by_id = {c["id"]: c for c in document["checks"]}
    assert by_id["credential"]["data"] == {"source": "environment", "kind": "api_key",
                                           "variable": "ANTHROPIC_API_KEY", "token_length": 50}
    assert by_id["probe"]["data"]["recorded"] is False and by_id["probe"]["level"] == "ok"
    assert by_id["statusline"]["level"] == "warn" and by_id["statusline"]["fix"]
    assert_no_secret(result)


def test_through_an_authenticating_proxy(fake_api, cc_env, run_cli):
    from harness import ConnectProxy

    with ConnectProxy(auth=("ada", "proxy-pass-123")) as proxy:
        url = proxy.url.replace("://", "://ada:proxy-pass-123@", 1)
        result = run_cli("doctor", env={**cc_env, "HTTPS_PROXY": url})
        tunnels = proxy.connects
    checks = lines_of(result)
    assert checks["proxy"][0] == "✓" and "goes through http://***@127.0.0.1:" in checks["proxy"][1]
    assert checks["TCP"][0] == "✓" and "connected to the proxy 127.0.0.1:" in checks["TCP"][1]
    assert "tunnel to" in checks["TCP"][1]
    assert checks["TLS"][0] == "✓" and checks["probe"][0] == "✓" and checks["clock"][0] == "✓"
    assert len(tunnels) == 2  # doctor's own TCP/TLS check, then its probe
    assert_no_secret(result, secret="proxy-pass-123")
    assert_no_secret(result)

    with ConnectProxy(auth=("ada", "right")) as proxy:
        wrong = proxy.url.replace("://", "://ada:wrong@", 1)
        checks = lines_of(run_cli("doctor", env={**cc_env, "HTTPS_PROXY": wrong}))
    mark, detail, fix = checks["TCP"]
    assert mark == "✗" and "407" in detail and fix.startswith("check HTTPS_PROXY")
    assert checks["probe"][0] == "✗" and checks["probe"][2].endswith("see the TCP line above")


def test_a_socks_proxy_is_left_to_the_probe(fake_api, cc_env, run_cli):
    checks = lines_of(run_cli("doctor", env={**cc_env, "HTTPS_PROXY": f"socks5h://127.0.0.1:{refused_port()}"}))
    assert checks["TCP"][0] == "!" and "socks5h:// proxy" in checks["TCP"][1]
    assert checks["probe"][0] == "✗"  # libcurl really tried the (absent) proxy


# -- the registry: stable ids, crashes under their own id --------------------------------

CHECK_IDS = ["versions", "config", "credential", "base_url", "dns", "proxy", "ca", "tcp", "tls", "probe",
             "state_dir", "state", "watch", "statusline", "shell", "clock", "mcp"]


def test_json_ids_are_the_same_stable_list_whatever_breaks(fake_api, cc_env, run_cli):
    healthy = json.loads(run_cli("doctor", "--json", env=cc_env).stdout)
    assert [c["id"] for c in healthy["checks"]] == CHECK_IDS
    broken = run_cli("doctor", "--json", env=dict(cc_env, ANTHROPIC_BASE_URL="https://api.ccprompt-test.invalid"))
    document = json.loads(broken.stdout)
    assert broken.returncode == 1 and document["ok"] is False and document["failures"] >= 2
    assert [c["id"] for c in document["checks"]] == CHECK_IDS
    levels = {c["id"]: c["level"] for c in document["checks"]}
    assert levels["dns"] == "fail" and levels["tcp"] == "warn" and levels["probe"] == "fail"


def test_a_crashing_check_is_reported_under_its_own_id(fake_api, cc_env, monkeypatch):
    from ccprompt.ops.doctor import report
    from ccprompt.sources import credentials

    def broken(paths=None):
        raise RuntimeError("settings reader broke \x1b]52;c;aGk=\x07 here")

    monkeypatch.setattr(credentials, "resolve", broken)
    checks = report.run(cc_env)
    assert [c.id for c in checks] == CHECK_IDS
    by_id = {c.id: c for c in checks}
    for crashed in ("credential", "base_url"):  # both need the credential; each crashes as itself
        check = by_id[crashed]
        assert check.level == "fail" and check.title in ("credential", "base URL")
        assert check.detail.startswith("check crashed: RuntimeError: settings reader broke")
        assert check.detail.endswith(" here") and "\x1b" not in check.detail and "52;" not in check.detail
        assert check.fix == "please report this with `ccprompt doctor --json`"
    assert by_id["config"].level == "ok" and by_id["state_dir"].level != "fail"


def test_a_check_that_raises_keeps_its_declared_id_and_title(cc_env):
    from ccprompt.ops.doctor.context import Context
    from ccprompt.ops.doctor.registry import Registry, ok

    registry = Registry()

    @registry.check("first", "first")
    def first(ctx):
        return ok("fine")

    @registry.check("flaky_thing", "flaky thing")
    def _an_internal_name(ctx):
        return {}["missing"]

    with pytest.raises(ValueError):
        registry.check("first", "again")
    checks = registry.run(Context(cc_env))
    assert [(c.id, c.title, c.level) for c in checks] == [("first", "first", "ok"),
                                                          ("flaky_thing", "flaky thing", "fail")]
    assert checks[1].detail == "check crashed: KeyError: 'missing'"


# -- deadlines -----------------------------------------------------------------------------

def test_a_trickling_server_cannot_keep_doctor_running(tls_ca, cc_env, run_cli):
    import time

    from harness.trickle import TrickleTLSServer

    with TrickleTLSServer(tls_ca, interval_s=0.5) as server:
        env = dict(cc_env, ANTHROPIC_BASE_URL=server.url, CCPROMPT_TIMEOUT_MS="1000")
        started = time.monotonic()
        result = run_cli("doctor", env=env, timeout=40)
        elapsed = time.monotonic() - started
    checks = lines_of(result)
    # The Date read gets 5 s in all, however often a byte arrives; the probe its own 1 s.
    assert elapsed < 12, (elapsed, result.stdout)
    assert checks["TLS"][0] == "✓"
    mark, detail, _ = checks["clock"]
    assert mark == "!" and "did not finish" in detail and "in 5 s" in detail
    assert checks["probe"][0] == "✗" and result.returncode == 1
    assert_no_secret(result)


def test_when_the_budget_runs_out_the_network_checks_left_are_skipped(tls_ca, cc_env):
    import time

    from harness.trickle import TrickleTLSServer

    from ccprompt.ops.doctor import report
    from ccprompt.ops.doctor.registry import Deadline

    with TrickleTLSServer(tls_ca, interval_s=0.2) as server:
        started = time.monotonic()
        checks = report.run(dict(cc_env, ANTHROPIC_BASE_URL=server.url), Deadline(1.5))
        elapsed = time.monotonic() - started
        connections = server.connection_count
    by_id = {c.id: c for c in checks}
    assert [c.id for c in checks] == CHECK_IDS
    assert elapsed < 4, elapsed
    assert by_id["tcp"].level == "ok" and by_id["tls"].level == "ok"
    assert by_id["probe"].level == "fail" and by_id["probe"].detail == "skipped: doctor's 1.5 s budget ran out"
    assert by_id["clock"].level == "warn" and "budget ran out" in by_id["clock"].detail
    assert connections == 1  # the probe never started
    assert by_id["state_dir"].level in ("ok", "warn")  # the local checks still ran
    assert "doctor's 1.5 s budget ran out" in report.format_report(checks)


def test_the_whole_budget_is_twenty_seconds():
    from ccprompt.ops.doctor import registry

    assert registry.BUDGET_S == 20 and registry.NET_TIMEOUT_S * 4 <= registry.BUDGET_S
    deadline = registry.Deadline(20.0, clock=iter([100.0, 100.0, 117.0, 121.0]).__next__)
    assert deadline.within(5) == 5 and deadline.within(5) == 3.0 and deadline.expired()


# -- config problems -----------------------------------------------------------------------

@pytest.mark.parametrize("line,key,says", [
    ('degraded_factor = "abc"', "degraded_factor", "must be a number, not 'abc'"),
    ("green_interval_s = 0", "green_interval_s", "must be between 10 and 86400, not 0"),
])
def test_an_invalid_config_value_is_a_failure_naming_key_and_file(fake_api, cc_env, run_cli, line, key, says):
    config = Path(cc_env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(line + "\n")
    result = run_cli("doctor", env=cc_env)
    mark, detail, fix = lines_of(result)["config"]
    assert mark == "✗" and detail == f"{key} in {config}: {says}"
    assert fix.startswith(f"fix or remove it in {config}; defaults apply meanwhile")
    assert result.returncode == 1
    assert lines_of(result)["probe"][0] == "✓"  # the defaults still probe
    document = json.loads(run_cli("doctor", "--json", env=cc_env).stdout)
    by_id = {c["id"]: c for c in document["checks"]}
    assert by_id["config"]["level"] == "fail" and by_id["config"]["data"]["problems"] == [detail]


def test_a_typo_key_is_a_warning_with_a_suggestion(fake_api, cc_env, run_cli):
    config = Path(cc_env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('probe_modle = "claude-haiku-4-5"\n')
    result = run_cli("doctor", env=cc_env)
    mark, detail, fix = lines_of(result)["config"]
    assert mark == "!" and detail == f"unknown key 'probe_modle' in {config} (did you mean 'probe_model'?)"
    assert fix == f"remove or correct it in {config}"


# -- the shell fix -------------------------------------------------------------------------

@pytest.mark.parametrize("shell,line,rc", [
    ("/bin/bash", 'eval "$(ccprompt init bash)"', "~/.bashrc"),
    ("/usr/bin/fish", "ccprompt init fish | source", "~/.config/fish/config.fish"),
    ("/usr/bin/zsh", 'eval "$(ccprompt init zsh)"', "~/.zshrc"),
])
def test_the_shell_fix_speaks_the_users_shell(fake_api, cc_env, run_cli, shell, line, rc):
    mark, _, fix = lines_of(run_cli("doctor", env=dict(cc_env, SHELL=shell)))["shell"]
    assert mark == "!" and fix == f"ccprompt install shell (or add {line} to {rc} yourself)"


def test_an_unknown_shell_gets_every_init_line():
    from ccprompt.ops.doctor import fixes

    for env in ({}, {"SHELL": "/bin/dash"}):
        fix = fixes.shell(env)
        assert fix.startswith("ccprompt install shell")
        assert 'eval "$(ccprompt init bash)"' in fix and "ccprompt init fish | source" in fix


DEBIAN_PS1 = 'PS1="\\[\\e]0;${debian_chroot:+($debian_chroot)}\\u@\\h: \\w\\a\\]$PS1"\n'


@pytest.mark.parametrize("rc, text, mark, words", [
    (".zshrc", 'source $ZSH/oh-my-zsh.sh\neval "$(ccprompt init zsh --position title)"\n', "!",
     "oh-my-zsh sets the terminal title"),
    (".zshrc", 'DISABLE_AUTO_TITLE="true"\nsource $ZSH/oh-my-zsh.sh\neval "$(ccprompt init zsh --position title)"\n',
     "✓", "init line in ~/.zshrc"),
    (".config/fish/config.fish", "function fish_title\n    echo hi\nend\nccprompt init fish --position title | source\n",
     "!", "your fish_title function writes the title too"),
    (".bashrc", DEBIAN_PS1 + 'eval "$(ccprompt init bash --position title)"\n', "✓",
     "your PS1 sets the title too; ccprompt's comes after it and wins"),
    (".zshrc", 'source $ZSH/oh-my-zsh.sh\neval "$(ccprompt init zsh)"\n', "✓", "init line in ~/.zshrc"),
])
def test_doctor_spots_another_title_setter_for_position_title(fake_api, cc_env, run_cli, rc, text, mark, words):
    path = Path(cc_env["HOME"]) / rc
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if rc == ".bashrc":  # Debian's ~/.profile, so that a login bash loads it too
        (Path(cc_env["HOME"]) / ".profile").write_text('if [ -f "$HOME/.bashrc" ]; then . "$HOME/.bashrc"; fi\n')
    got, detail, fix = lines_of(run_cli("doctor", env=cc_env, timeout=60))["shell"]
    assert got == mark and words in detail, (got, detail, fix)
    if mark == "!":
        assert "--position right" in fix


def test_a_status_line_or_mcp_entry_run_as_plain_python_m_is_flagged_and_never_started(fake_api, cc_env, run_cli,
                                                                                          tmp_path):
    """Claude Code runs both in the project directory, where `-m` would import a planted ccprompt/ first."""
    marker = tmp_path / "started"
    settings = Path(cc_env["HOME"]) / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"statusLine": {"type": "command",
                                                   "command": f"{sys.executable} -m ccprompt statusline"}}))
    (Path(cc_env["HOME"]) / ".claude.json").write_text(json.dumps({"mcpServers": {"ccprompt": {
        "type": "stdio", "command": "sh", "args": ["-c", f"touch {marker}", sys.executable, "-m", "ccprompt", "mcp"]}}}))
    checks = lines_of(run_cli("doctor", env=cc_env))
    mark, detail, fix = checks["status line"]
    assert mark == "!" and "imports a ccprompt/ directory of the project" in detail
    assert fix.startswith("ccprompt install statusline")
    mark, detail, fix = checks["MCP server"]
    assert mark == "!" and "imports a ccprompt/ directory of the project" in detail and fix == "ccprompt install mcp"
    assert not marker.exists()  # the entry was not started to find out
    # Written again by install, both run with -P and pass.
    assert run_cli("install", "statusline", env=cc_env).returncode == 0
    assert " -P -m ccprompt statusline" in json.loads(settings.read_text())["statusLine"]["command"]
    assert lines_of(run_cli("doctor", env=cc_env))["status line"][0] == "✓"
