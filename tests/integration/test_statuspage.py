"""Is it me, or is it Anthropic? The public status page, read by the real CLI from a local fake over TLS.

Each story runs the real `ccprompt` against a statuspage.io-shaped page on 127.0.0.1
(tests/harness/statuspage.py) and the fake API, and looks at what a person would see:
the status line, `explain`, `status --json`, `metrics`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from harness.statuspage import MAJOR_API, MINOR_ELSEWHERE, QUIET, FakeStatusPage, incident, summary

STDIN = json.dumps({"session_id": "5e551011-aaaa-bbbb-cccc-000000000001", "model": {"id": "claude-opus-5-5"},
                    "workspace": {"current_dir": "/tmp"}, "cost": {"total_duration_ms": 999999}})


@pytest.fixture
def page(tls_ca):
    with FakeStatusPage(tls_ca) as server:
        yield server


@pytest.fixture
def env(cc_env, page):
    """The CLI pointed at the fake API and at the fake page (the same test CA trusts both)."""
    return {**cc_env, "CCPROMPT_STATUSPAGE_URL": page.url}


def record(env) -> dict | None:
    path = Path(env["CCPROMPT_HOME"]) / "statuspage.json"
    return json.loads(path.read_text()) if path.exists() else None


def age_record(env, seconds: float) -> None:
    """Pretend the last check was `seconds` earlier (the schedule is tested without sleeping)."""
    path = Path(env["CCPROMPT_HOME"]) / "statuspage.json"
    data = json.loads(path.read_text())
    data["checked_ms"] -= int(seconds * 1000)
    data["fetched_ms"] = data["fetched_ms"] - int(seconds * 1000) if data["fetched_ms"] else 0
    path.write_text(json.dumps(data))


def red_529(run_cli, env, fake_api) -> None:
    fake_api.respond(529)
    result = run_cli("probe", env=env)
    assert result.returncode == 1, result.stdout + result.stderr


def line(run_cli, env, **extra) -> str:
    """The network segment (the last of the default layout), or the whole line for another layout."""
    result = run_cli("statusline", input=STDIN, env={**env, "NO_COLOR": "1", **extra})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    text = result.stdout.strip()
    return text.split(" | ", 2)[-1] if text.startswith("claude-opus-5-5 | tmp | ") else text


def test_a_major_incident_on_the_api_explains_a_529(run_cli, env, fake_api, page):
    page.serve(MAJOR_API)
    red_529(run_cli, env, fake_api)
    refreshed = run_cli("refresh", "--sync", env=env)
    assert "status page: HTTP 200, 1 open incident(s)" in refreshed.stdout, refreshed.stdout
    assert page.request_count == 1 and page.requests[0].path == "/api/v2/summary.json"
    assert line(run_cli, env).endswith("🔴 529 overloaded · incident: Elevated errors on Opus 5.5")

    explained = run_cli("explain", env={**env, "COLUMNS": "200"}).stdout
    assert "incident: Elevated errors on Opus 5.5 — investigating, major impact, since 2026-12-04 11:52 UTC" \
        in " ".join(explained.split())
    assert f"{page.url.replace('localhost', 'localhost')}/incidents/x1y2z3w4v5u6" in explained
    assert "shown on the line" in explained

    status = json.loads(run_cli("status", "--json", env=env).stdout)["statuspage"]
    assert status["reachable"] is True
    assert status["incidents"][0]["title"] == "Elevated errors on Opus 5.5"
    assert status["incidents"][0]["components"] == ["Claude API (api.anthropic.com)", "Claude Code"]
    assert status["incidents"][0]["started_at"] == "2026-12-04T11:52:00.000Z"

    metrics = run_cli("metrics", env=env).stdout
    assert "ccprompt_statuspage_up 1" in metrics
    assert ('ccprompt_statuspage_incident{title="Elevated errors on Opus 5.5",impact="major",'
            'status="investigating",explains="1"} 1') in metrics

    plain = run_cli("status", env={**env, "NO_COLOR": "1"}).stdout.strip()
    assert plain == "🔴 529 overloaded · incident: Elevated errors on Opus 5.5"


def test_no_incident_leaves_the_red_line_as_it_was(run_cli, env, fake_api, page):
    page.serve(QUIET)
    red_529(run_cli, env, fake_api)
    run_cli("refresh", "--sync", env=env)
    assert record(env)["fetched_ms"] and record(env)["incidents"] == []
    shown = line(run_cli, env)
    assert "🔴 529 overloaded DNS:" in shown and "incident" not in shown
    assert "All Systems Operational" in run_cli("explain", env=env).stdout


def test_a_minor_incident_elsewhere_is_not_pinned_but_the_incident_segment_shows_it(run_cli, env, fake_api, page):
    page.serve(MINOR_ELSEWHERE)
    red_529(run_cli, env, fake_api)
    run_cli("refresh", "--sync", env=env)
    assert "incident" not in line(run_cli, env)
    explained = " ".join(run_cli("explain", env=env).stdout.split())
    assert "incident: Elevated errors on claude.ai — investigating, minor impact" in explained
    assert "not pinned to the line (minor, elsewhere)" in explained
    config = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[statusline]\nsegments = ["network", "incident"]\n')
    assert line(run_cli, env).endswith(" | incident: Elevated errors on claude.ai")
    only = run_cli("statusline", "--segment", "incident", input=STDIN, env={**env, "NO_COLOR": "1"})
    assert only.stdout.strip() == "incident: Elevated errors on claude.ai"


def test_a_hanging_page_costs_one_bounded_attempt_and_the_line_stays_silent(run_cli, env, fake_api, page):
    red_529(run_cli, env, fake_api)
    page.misbehave("hang")
    refreshed = run_cli("refresh", "--sync", env=env)  # the page holds for 300 s: its own 5 s limit ends it
    assert "status page unreachable: no answer within 5s" in refreshed.stdout
    assert record(env)["failures"] == 1 and record(env)["fetched_ms"] == 0
    shown = line(run_cli, env)
    assert shown.startswith("🔴 529 overloaded") and "incident" not in shown and "status" not in shown
    explained = " ".join(run_cli("explain", env=env).stdout.split())
    assert "unreachable at the last check" in explained and "no answer within 5s" in explained
    assert json.loads(run_cli("status", "--json", env=env).stdout)["statuspage"]["reachable"] is False
    assert "ccprompt_statuspage_up 0" in run_cli("metrics", env=env).stdout


@pytest.mark.parametrize("mode, error", [("garbage", "not a status page summary"),
                                         ("huge", "answer larger than 1024 KB"),
                                         ("status", "HTTP 503")])
def test_a_page_that_serves_garbage_breaks_nothing(run_cli, env, fake_api, page, mode, error):
    red_529(run_cli, env, fake_api)
    page.misbehave(mode)
    refreshed = run_cli("refresh", "--sync", env=env)
    assert refreshed.returncode == 0 and f"status page unreachable: {error}" in refreshed.stdout
    assert record(env)["error"] == error
    assert line(run_cli, env).startswith("🔴 529 overloaded DNS:")
    explained = run_cli("explain", env=env)
    assert explained.returncode == 0 and "\x1b" not in explained.stdout
    assert error in " ".join(explained.stdout.split())


def test_a_lying_page_reaches_no_terminal_unsanitised(run_cli, env, fake_api, page):
    hostile = incident("\x1b]0;owned\x07Elevated\u202e errors\x1b[2J on the API " + "x" * 500, impact="critical",
                       ident="../../evil")
    hostile["shortlink"] = "https://evil.example/phish"
    page.serve(summary(hostile))
    red_529(run_cli, env, fake_api)
    run_cli("refresh", "--sync", env=env)
    shown = line(run_cli, env)
    assert "\x1b" not in shown and "\u202e" not in shown and "\x07" not in shown
    assert "· incident: Elevated errors on the API xxx" in shown and len(shown) < 140
    explained = run_cli("explain", env=env).stdout
    assert "evil" not in explained and "\x1b" not in explained
    assert f"{page.url} ·" in " ".join(explained.split())  # no safe id: the link is the page itself


def test_a_conditional_get_is_answered_304_and_keeps_what_was_known(run_cli, env, fake_api, page):
    page.serve(MAJOR_API)
    run_cli("refresh", "--sync", env=env)
    first = record(env)
    assert first["etag"] and first["last_modified"]
    age_record(env, 700)
    again = run_cli("refresh", "--sync", env=env)
    assert "status page: HTTP 304, 1 open incident(s)" in again.stdout, again.stdout
    assert page.requests[1].headers["if-none-match"] == first["etag"]
    assert page.requests[1].headers["if-modified-since"] == first["last_modified"]
    assert page.requests[1].status == 304
    assert record(env)["incidents"] == first["incidents"] and record(env)["fetched_ms"] > first["fetched_ms"]


def test_the_schedule_and_the_failure_backoff(run_cli, env, fake_api, page):
    page.serve(QUIET)
    run_cli("refresh", "--sync", env=env)
    assert page.request_count == 1
    run_cli("refresh", "--sync", env=env)
    age_record(env, 300)  # green and quiet: 5 minutes is not yet due (every 10)
    not_yet = run_cli("refresh", "--sync", env=env)
    assert page.request_count == 1 and "next in" in not_yet.stdout
    age_record(env, 301)
    run_cli("refresh", "--sync", env=env)
    assert page.request_count == 2

    page.misbehave("status", 500)
    age_record(env, 601)
    run_cli("refresh", "--sync", env=env)
    assert page.request_count == 3 and record(env)["failures"] == 1
    age_record(env, 601)  # after one failure: 20 minutes (10, doubled)
    run_cli("refresh", "--sync", env=env)
    assert page.request_count == 3
    age_record(env, 600)
    run_cli("refresh", "--sync", env=env)
    assert page.request_count == 4 and record(env)["failures"] == 2

    page.serve(QUIET)
    age_record(env, 1801)  # the backoff stops at 30 minutes
    run_cli("refresh", "--sync", env=env)
    assert page.request_count == 5 and record(env)["failures"] == 0


def test_a_red_line_checks_every_two_minutes_from_the_detached_worker_never_waiting_on_it(run_cli, env, fake_api,
                                                                                          page):
    page.serve(QUIET)
    red_529(run_cli, env, fake_api)
    run_cli("refresh", "--sync", env=env)
    assert page.request_count == 1
    age_record(env, 115)
    line(run_cli, env)
    time.sleep(1)
    assert page.request_count == 1  # under 2 minutes: not due
    age_record(env, 10)
    page.misbehave("hang")
    shown = line(run_cli, env)  # due: a detached worker asks, and the page never answers it
    assert shown.startswith("🔴 529 overloaded")
    page.wait_for_requests(2, timeout=15)
    assert record(env)["failures"] == 0  # the render is done while the worker still waits on the page
    wait_until = time.monotonic() + 20
    while record(env)["failures"] == 0 and time.monotonic() < wait_until:
        time.sleep(0.2)
    assert record(env)["failures"] == 1 and record(env)["error"] == "no answer within 5s"


def test_off_means_no_request_and_nothing_shown(run_cli, env, fake_api, page):
    off = {**env, "CCPROMPT_STATUSPAGE_URL": ""}
    page.serve(MAJOR_API)
    red_529(run_cli, off, fake_api)
    refreshed = run_cli("refresh", "--sync", env=off)
    assert "status page off" in refreshed.stdout
    assert "incident" not in line(run_cli, off)
    assert json.loads(run_cli("status", "--json", env=off).stdout)["statuspage"] == {"enabled": False}
    assert page.request_count == 0
    assert "off (statuspage_url is empty)" in run_cli("explain", env=off).stdout


def test_a_dns_failure_is_never_blamed_on_an_incident(run_cli, env, page):
    page.serve(MAJOR_API)
    run_cli("refresh", "--sync", env=env)
    broken = {**env, "ANTHROPIC_BASE_URL": "https://no-such-host.invalid"}
    assert run_cli("probe", env=broken).returncode == 1
    shown = line(run_cli, broken)
    assert "DNS" in shown and "incident" not in shown


async def _health(env: dict) -> dict:
    import sys

    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    from harness import REPO_ROOT

    params = StdioServerParameters(command=sys.executable, args=["-m", "ccprompt", "mcp"], env=env, cwd=str(REPO_ROOT))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("api_health", {})
            assert not result.isError, result.content
            return result.structuredContent or json.loads(result.content[0].text)


def test_the_mcp_health_tool_carries_the_incident(run_cli, env, fake_api, page):
    pytest.importorskip("mcp", reason="the ccprompt[mcp] extra is not installed")
    import anyio

    page.serve(MAJOR_API)
    red_529(run_cli, env, fake_api)
    run_cli("refresh", "--sync", env=env)
    health = anyio.run(_health, env)
    assert health["status"] == "error" and health["reason"] == "529 overloaded"
    found = health["statuspage"]["incidents"][0]
    assert found["title"] == "Elevated errors on Opus 5.5" and found["explains_failures"] is True
    assert found["link"].endswith("/incidents/x1y2z3w4v5u6")


def test_watch_reads_the_page_after_its_probe(run_cli, env, fake_api, page):
    page.serve(MINOR_ELSEWHERE)
    result = run_cli("watch", "--once", env=env)
    assert result.returncode == 0, result.stderr
    assert page.request_count == 1 and record(env)["incidents"][0]["title"] == "Elevated errors on claude.ai"


def test_the_page_is_read_through_the_same_proxy_as_the_probe(run_cli, env, page):
    from harness import ConnectProxy

    page.serve(MAJOR_API)
    with ConnectProxy(auth=("pxuser", "px-s3cret-pass")) as proxy:
        proxied = {**env, "HTTPS_PROXY": proxy.url.replace("http://", "http://pxuser:px-s3cret-pass@")}
        refreshed = run_cli("refresh", "--sync", env=proxied)
        assert f"localhost:{page.port}" in proxy.connects, proxy.connects
    assert "1 open incident(s)" in refreshed.stdout
    connect = [r for r in proxy.requests if r.method == "CONNECT" and r.target == f"localhost:{page.port}"][0]
    assert connect.header("user-agent", "").startswith("ccprompt/")
    assert "px-s3cret-pass" not in (Path(env["CCPROMPT_HOME"]) / "statuspage.json").read_text()


def test_a_proxy_that_refuses_is_one_failure_with_no_password_in_it(run_cli, env, page):
    from harness import ConnectProxy

    with ConnectProxy(auth=("pxuser", "right")) as proxy:
        wrong = {**env, "HTTPS_PROXY": proxy.url.replace("http://", "http://pxuser:wr0ng-pass@")}
        refreshed = run_cli("refresh", "--sync", env=wrong)
    assert "status page unreachable" in refreshed.stdout and "wr0ng-pass" not in refreshed.stdout
    saved = (Path(env["CCPROMPT_HOME"]) / "statuspage.json").read_text()
    assert "wr0ng-pass" not in saved and json.loads(saved)["failures"] == 1
    assert page.request_count == 0


def test_a_red_line_with_an_incident_and_the_payload_segments_stays_on_the_light_path(run_cli, env, fake_api, page):
    import subprocess
    import sys

    from harness import REPO_ROOT

    page.serve(MAJOR_API)
    red_529(run_cli, env, fake_api)
    run_cli("refresh", "--sync", env=env)
    config = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[statusline]\nsegments = ["limits", "cache", "incident", "network"]\n')
    data = json.loads((REPO_ROOT / "tests" / "fixtures" / "stdin-cc-2.1.332.json").read_text())
    data["rate_limits"] = {"five_hour": {"used_percentage": 50, "resets_at": int(time.time()) + 3600}}
    line(run_cli, env)  # the config file is parsed once, then read from its cache
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "ccprompt", "statusline"],
                            input=json.dumps(data), env={**env, "NO_COLOR": "1"}, cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.stdout.strip() == "5h 50% | cache cold | 🔴 529 overloaded · incident: Elevated errors on Opus 5.5"
    order = [row.rsplit("|", 1)[1].strip() for row in result.stderr.splitlines() if row.startswith("import time:")]
    ours = {name.split(".")[0] for name in order[order.index("ccprompt"):]}
    assert not ours & {"json", "re", "datetime", "pycurl", "jinja2", "typer"}, ours


def test_a_page_url_with_a_password_is_refused_and_the_password_kept_nowhere(run_cli, env, fake_api, page):
    config = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('statuspage_url = ""\n')  # what stands when the variable is refused: off, not the real page
    secret_env = {**env, "CCPROMPT_STATUSPAGE_URL": page.url.replace("https://", "https://reader:p4ge-s3cret@")}
    refused = run_cli("probe", env=secret_env)
    assert refused.returncode == 2
    assert refused.stderr == ("ccprompt: statuspage_url in $CCPROMPT_STATUSPAGE_URL: "
                              "must not carry a user name or password\n")
    assert run_cli("statusline", input=STDIN, env=secret_env).returncode == 0  # renders, with the page off
    outputs = [run_cli(*args, env=secret_env).stdout for args in (("explain",), ("status", "--json"), ("metrics",))]
    home = Path(env["CCPROMPT_HOME"])
    outputs += [p.read_text(errors="replace") for p in home.rglob("*") if p.is_file()]
    assert len(outputs) > 4 and not [text for text in outputs if "p4ge-s3cret" in text]
    assert page.request_count == 0
