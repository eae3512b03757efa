"""A newcomer reads a failure: its compact form (the cause, then only the phases that ran), the
model still on an 80-column line, and words that match the colours (no scheduler window names)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from ccprompt.core.text import display_width

PAYLOAD = {"model": {"id": "claude-opus-4-5", "display_name": "Opus 4.5"},
           "workspace": {"current_dir": "/tmp/proj"}, "cost": {"total_cost_usd": 0.42},
           "context_window": {"used_percentage": 2}}


def line_at(run_cli, env, columns):
    result = run_cli("statusline", env={**env, "COLUMNS": str(columns), "NO_COLOR": "1"},
                     input=json.dumps(PAYLOAD))
    assert result.returncode == 0 and result.stderr == ""
    return result.stdout.rstrip("\n")


def test_a_dns_failure_is_its_cause_and_the_model_stays_at_80_columns(run_cli, cc_env):
    env = {**cc_env, "ANTHROPIC_BASE_URL": "https://api.ccprompt.invalid"}
    probe = run_cli("probe", env={**env, "NO_COLOR": "1"})
    assert probe.returncode == 1
    # Before: `🔴 DNS: no such host DNS:-|TCP:-|TLS:-|TTFB:-|Total:1ms  DNS failed: Could not resolve host`
    assert re.match(r"🔴 DNS: no such host Total:\d+ms  Could not resolve host: api\.ccprompt\.invalid$",
                    probe.stdout.rstrip("\n")), probe.stdout
    at_80 = line_at(run_cli, env, 80)
    # Before: `ctx 2% | 🔴 DNS: no such host DNS:-|TCP:-|TLS:-|TTFB:-|Total:1ms`
    assert re.match(r"Opus 4\.5 \| proj \| ctx 2% \| \$0\.42 \| 🔴 DNS: no such host Total:\d+ms$", at_80), at_80
    assert ":-" not in at_80 and display_width(at_80) <= 76
    verbose = run_cli("probe", "--verbose", env={**env, "NO_COLOR": "1"}).stdout
    assert "DNS lookup" in verbose and "failed" in verbose
    assert "TCP connect" not in verbose and "TLS handshake" not in verbose  # they never ran


def test_an_overload_keeps_the_model_and_takes_the_compact_form_when_narrow(run_cli, cc_env, fake_api):
    fake_api.respond(status=529)
    assert run_cli("probe", env=cc_env).returncode == 1
    wide = line_at(run_cli, cc_env, 200)
    assert re.search(r"🔴 529 overloaded DNS:\d+ms\|TCP:\d+ms\|TLS:\d+ms\|TTFB:\d+ms\|Total:\d+ms$", wide), wide
    at_80 = line_at(run_cli, cc_env, 80)
    assert at_80.startswith("Opus 4.5 | ") and at_80.endswith(" | 🔴 529 overloaded"), at_80
    assert "ctx 2%" in at_80 and display_width(at_80) <= 76
    # Narrower still, the model gives way before the cause is ever cut.
    at_30 = line_at(run_cli, cc_env, 30)
    assert at_30.endswith("🔴 529 overloaded") and display_width(at_30) <= 26, at_30


def test_watch_names_no_window_beside_its_result(run_cli, cc_env, fake_api):
    fake_api.respond(status=529)
    result = run_cli("watch", "--once", env={**cc_env, "NO_COLOR": "1"})
    text = result.stdout + result.stderr
    # Before: `13:37:13 GREEN 🔴 error ...`
    assert re.search(r"^\d\d:\d\d:\d\d 🔴 error  HTTP 529", text, re.M), text
    assert not re.search(r"\b(GREEN|RED|COLD|CALIBRATE)\b", text)


def test_explain_while_red_names_the_follow_up_not_a_colour(run_cli, cc_env, fake_api):
    fake_api.respond(status=529)
    run_cli("probe", "--count", "2", "--interval", "0", env=cc_env)
    result = run_cli("explain", env={**cc_env, "COLUMNS": "120"})
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "🔴 529 overloaded" in text
    # Before: `next probe in 4m54s (the GREEN baseline every 300s; ...)`
    assert re.search(r"next probe in \d+s \(follow-up: a failure is on show: probing again ", text), text
    assert "baseline" not in text.split("next probe in")[1].split(")")[0]
    assert "calibration probe" in text
    assert not re.search(r"\b(GREEN|RED|COLD|CALIBRATE|CONFIRM|MANUAL)\b", text), text


def test_every_probe_kind_has_one_word_and_reasons_lose_window_names():
    from ccprompt.core import kinds, schedule

    assert kinds.word("GREEN") == "baseline" and kinds.word("CALIBRATE") == "calibration"
    assert kinds.word("RED") == "follow-up" and kinds.word("CONFIRM") == "confirm"
    source = Path(schedule.__file__).read_text()
    for kind in set(re.findall(r'kind="([A-Z]+)"', source)):
        assert kind in kinds.WORDS, kind  # a new kind without a word would reach users upper-case
    assert kinds.plain("baseline probe is older than the GREEN interval") == \
        "baseline probe is older than the baseline interval"


@pytest.mark.parametrize("columns", [80, 60])
def test_a_failure_in_a_git_directory_drops_extras_before_the_model(run_cli, cc_env, fake_api, tmp_path, columns):
    repo = tmp_path / "proj"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    fake_api.respond(status=529)
    run_cli("probe", env=cc_env)
    payload = {**PAYLOAD, "workspace": {"current_dir": str(repo)}}
    shown = run_cli("statusline", env={**cc_env, "COLUMNS": str(columns), "NO_COLOR": "1"},
                    input=json.dumps(payload)).stdout.rstrip("\n")
    assert shown.startswith("Opus 4.5 | ") and "529 overloaded" in shown, shown
    assert display_width(shown) <= columns - 4
