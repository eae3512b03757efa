"""The status page's pure rules: when to ask, which incident explains a failure, what a hostile page yields."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ccprompt.core import statuspage as rules
from ccprompt.core.model import MonitorState
from ccprompt.core.signal import Signal
from harness.statuspage import API_COMPONENT, MAJOR_API, MINOR_ELSEWHERE, WEB_COMPONENT, incident, summary

URL = "https://status.claude.com/api/v2/summary.json"
NOW = 1_800_000_000_000


def page_record(document, **fields) -> rules.PageRecord:
    parsed = rules.parse_summary(document, URL)
    parsed["incidents"] = [rules.Incident(**i) for i in parsed["incidents"]]
    base = {"url": URL, "checked_ms": NOW, "fetched_ms": NOW}
    return rules.PageRecord(**{**base, **parsed, **fields})


def test_the_summary_endpoint_of_a_page():
    assert rules.summary_url("https://status.claude.com") == URL
    assert rules.summary_url("https://status.claude.com/") == URL
    assert rules.summary_url("https://mirror.example/claude/summary.json") == "https://mirror.example/claude/summary.json"


@pytest.mark.parametrize("line, troubled, failures, wait", [
    ("healthy", False, 0, 600), ("error", False, 0, 120), ("degraded", False, 0, 120), ("healthy", True, 0, 120),
    ("healthy", False, 1, 1200), ("error", False, 1, 240), ("error", False, 3, 960), ("healthy", False, 9, 1800)])
def test_every_two_minutes_while_anything_is_red_or_yellow_else_ten_and_a_backoff(line, troubled, failures, wait):
    record = page_record(MAJOR_API if troubled else summary(), failures=failures)
    assert rules.interval_s(record, line) == wait
    assert rules.due(NOW + (wait - 1) * 1000, record, URL, line)[0] is False
    assert rules.due(NOW + wait * 1000, record, URL, line)[0] is True


def test_due_at_once_when_never_checked_another_page_or_the_clock_went_back():
    record = page_record(summary())
    assert rules.due(NOW, None, URL, None) == (True, "status page never checked")
    assert rules.due(NOW, record, "https://other.example/api/v2/summary.json", None)[0] is True
    assert rules.due(NOW - 3_600_000, record, URL, None)[0] is True
    assert rules.due(NOW, record, "", "error") == (False, "status page off (statuspage_url is empty)")


def _red(status=529, phase=None):
    state = MonitorState(status="error")
    state.network.last_http_status = status
    state.network.failure_phase = phase
    return Signal(status="error", cause="x", source="probe"), state


def test_a_major_incident_or_one_on_the_api_explains_a_failure_a_minor_one_elsewhere_does_not():
    signal, state = _red()
    assert rules.explaining(page_record(MAJOR_API), signal, state, NOW).title == "Elevated errors on Opus 5.5"
    assert rules.explaining(page_record(MINOR_ELSEWHERE), signal, state, NOW) is None
    minor_api = summary(incident("Slow responses", impact="minor", affected=(API_COMPONENT,)))
    assert rules.explaining(page_record(minor_api), signal, state, NOW).title == "Slow responses"
    named = summary(incident("Elevated errors on Claude Sonnet 5.5", impact="minor", affected=()))
    assert rules.explaining(page_record(named), signal, state, NOW) is not None
    major_web = summary(incident("claude.ai down", impact="major", affected=(WEB_COMPONENT,)))
    assert rules.explaining(page_record(major_web), signal, state, NOW) is not None


def test_the_worst_incident_wins_and_a_green_line_or_a_local_failure_gets_none():
    both = page_record(summary(incident("Minor on API", impact="minor", ident="aaa"),
                               incident("Critical on API", impact="critical", ident="bbb")))
    signal, state = _red()
    assert rules.explaining(both, signal, state, NOW).title == "Critical on API"
    assert rules.explaining(both, Signal(status="healthy"), state, NOW) is None
    for phase in ("dns", "tcp", "tls"):
        signal, state = _red(status=0, phase=phase)
        assert rules.explaining(both, signal, state, NOW) is None
    signal, state = _red(status=0, phase="timeout")
    assert rules.explaining(both, signal, state, NOW) is not None


def test_an_unreachable_or_stale_page_explains_nothing():
    signal, state = _red()
    assert rules.explaining(page_record(MAJOR_API, failures=1), signal, state, NOW) is None
    assert rules.explaining(page_record(MAJOR_API), signal, state, NOW + 6 * 3600 * 1000) is None


@pytest.mark.parametrize("document", [None, [], "text", 5, {"page": {}}, {"incidents": "x"}])
def test_a_document_that_is_no_summary_is_refused(document):
    with pytest.raises(ValueError):
        rules.parse_summary(document, URL)


def test_hostile_fields_are_sanitised_capped_and_links_built_from_the_configured_page():
    evil = incident("\x1b[31mRed\u202e\u200b title" + "y" * 999, impact="catastrophic", status="<script>",
                    ident="../x", started_at="yesterday")
    evil["components"] = [{"name": "\x9b2J" + "c" * 300}, "not a dict", {"id": 5}]
    resolved = incident("Old one", status="resolved", ident="ccc")
    document = summary(evil, resolved, *[incident(f"n{i}", ident=f"id{i}") for i in range(20)])
    document["components"].append({"name": 7, "status": "major_outage"})
    parsed = rules.parse_summary(document, URL)
    first = parsed["incidents"][0]
    assert first["title"].startswith("Red title") and len(first["title"]) == 120
    assert first["impact"] == "none" and first["status"] == "investigating"
    assert first["link"] == "https://status.claude.com" and first["started_at"] is None
    assert first["components"] == ["c" * 80]  # the 8-bit CSI and its parameters are gone
    assert "Old one" not in [i["title"] for i in parsed["incidents"]]
    assert len(parsed["incidents"]) == rules.MAX_INCIDENTS
    again = rules.PageRecord.from_json(json.loads(json.dumps(page_record(document).to_dict())))
    assert again.incidents[0].title == first["title"]


def test_the_file_reader_survives_anything(tmp_path):
    from ccprompt.core.paths import Paths

    paths = Paths({"CCPROMPT_HOME": str(tmp_path), "HOME": str(tmp_path)})
    for content in (b"", b"[", b"[" * 100000, b'{"url": 5}', b'{"url": "u", "incidents": [1, {"title": 2}]}'):
        (tmp_path / "statuspage.json").write_bytes(content)
        found = rules.read(paths)
        assert found is None or found.incidents == []


def test_every_environment_the_tests_build_keeps_the_real_status_page_off():
    """A test environment built from scratch (PATH and HOME) must name CCPROMPT_STATUSPAGE_URL,
    or a detached refresh in it could reach the real status page."""
    tests = Path(__file__).resolve().parents[1]
    offenders = []
    for path in tests.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r'"PATH": os\.environ\.get\("PATH"', text):
            window = text[max(0, match.start() - 200): match.start() + 800]
            if "CCPROMPT_STATUSPAGE_URL" not in window:
                offenders.append(f"{path.relative_to(tests)}:{text.count(chr(10), 0, match.start()) + 1}")
    assert offenders == []


def test_digest_survives_deep_nesting_lies_and_a_304_from_nowhere():
    from ccprompt.sources.statuspage import Answer, digest

    deep = digest(None, URL, Answer(status=200, body=b"[" * 200_000), NOW)
    assert deep.failures == 1 and deep.error == "not a status page summary"
    odd = digest(None, URL, Answer(status=304), NOW)
    assert odd.failures == 1 and odd.error == "304 without an earlier answer"
    good = digest(odd, URL, Answer(status=200, body=json.dumps(MAJOR_API).encode(), etag='"e1"'), NOW + 1)
    assert good.failures == 0 and good.etag == '"e1"' and good.incidents[0].title == "Elevated errors on Opus 5.5"
    kept = digest(good, URL, Answer(status=304, etag='"e1"'), NOW + 2)
    assert kept.incidents == good.incidents and kept.fetched_ms == NOW + 2
    failed = digest(kept, URL, Answer(error="no answer within 5s"), NOW + 3)
    assert failed.failures == 1 and failed.incidents == good.incidents and not failed.reachable(NOW + 3)
    other = digest(failed, "https://elsewhere.example/api/v2/summary.json",
                   Answer(status=200, body=json.dumps(summary()).encode()), NOW + 4)
    assert other.incidents == [] and other.failures == 0
