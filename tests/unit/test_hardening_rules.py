"""The pure rules behind the third hardening round: the shell-safe alphabet, the block sanitiser,
the duration parser and the Host check."""

from __future__ import annotations

import pytest

from ccprompt.core.text import printable, shell_safe
from ccprompt.ops.history import SINCE_MAX_CHARS, parse_since
from ccprompt.ops.metrics_serve import host_allowed, host_of


@pytest.mark.parametrize("text, expected", [
    ("ctx 6%", "ctx 6%"),
    ("ctx 87% · ~2 turns to compact", "ctx 87% · ~2 turns to compact"),
    ("100%", "100%"),
    ("5%F{red}", "5F{red}"),
    ("%F{red}%K{white}", "F{red}K{white}"),
    ("API 529 `id`$(reboot)", "API 529 id(reboot)"),
    ("a\\b!c'd\"e", "abcde"),
    ("x\x1b]52;c;eA==\x07y\u202ez", "xyz"),
    ("%", ""),
    ("6%%", "6"),
])
def test_shell_safe_keeps_a_numbers_percent_and_nothing_a_prompt_expands(text, expected):
    assert shell_safe(text) == expected


def test_printable_keeps_lines_and_indentation_but_no_control():
    block = "name         value\n             more\x1b[2J here\u202e\n\tx"
    assert printable(block) == "name         value\n             more here\nx"


@pytest.mark.parametrize("text, seconds", [
    ("90s", 90), ("30m", 1800), ("1h30m", 5400), ("2d", 172800), ("1w", 604800), ("1.5h", 5400),
    (" 2H ", 7200), ("all", None), ("366d", 366 * 86400),
])
def test_parse_since_reads_durations(text, seconds):
    assert parse_since(text) == seconds


@pytest.mark.parametrize("text, words", [
    ("", "longer than zero"), ("0s", "longer than zero"), ("1", "not a duration"), ("h", "not a duration"),
    (".5h", "not a duration"), ("1.h", "not a duration"), ("1h 30m", "not a duration"),
    ("367d", "longer than 366d"), ("9" * (SINCE_MAX_CHARS + 1), f"longer than {SINCE_MAX_CHARS} characters"),
    ("9" * 200_000, "characters"), (None, "must be text"), (5, "must be text"), ("ａｌｌ", "not a duration"),
])
def test_parse_since_refuses_in_one_line(text, words):
    with pytest.raises(ValueError, match=words) as caught:
        parse_since(text)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 120


@pytest.mark.parametrize("header, host", [
    ("127.0.0.1:9464", "127.0.0.1"), ("[::1]:9464", "::1"), ("LOCALHOST", "localhost"), ("example.org.", "example.org"),
    (None, None), ("", None),
])
def test_host_of(header, host):
    assert host_of(header) == host


@pytest.mark.parametrize("header, allowed", [
    ("127.0.0.1:9464", True), ("localhost:9464", True), ("[::1]:9464", True), ("10.0.0.5:9464", True),
    ("prom.localhost", True), ("metrics-box", True),
    ("rebind.attacker.example", False), ("localhost.attacker.example", False), ("127.0.0.1.nip.io", False),
    ("", False), (None, False),
])
def test_host_allowed_refuses_names_a_page_could_rebind(header, allowed):
    assert host_allowed(header, {"localhost", "metrics-box"}) is allowed


@pytest.mark.parametrize("template, refused", [
    ("{{ 'x' * 1000 * 1000 * 1000 }}", True),
    ("{{ ['x'] * 1000 * 1000 }}", True),
    ("{{ ((9 ** 64) ** 64) ** 64 }}", True),
    ("{{ 2 ** 64 ** 1 }}", False),
    ("{{ 'ab' * 1000 }}", False),
    ("{{ '-' * 40 }}", False),
])
def test_a_format_cannot_grow_a_value_past_its_bounds_one_step_at_a_time(template, refused):
    from ccprompt.surfaces.template import format_template

    text = format_template(template, None, {"network": "NET"})
    assert ("format refused" in text) is refused, text
    assert len(text) <= 1000
