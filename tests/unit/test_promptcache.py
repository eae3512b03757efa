"""The prompt cache: what a shell reads on every prompt, rendered from the state."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from ccprompt.core import text as text_module
from ccprompt.core import promptcache as _promptcache
from ccprompt.core import render as _render
from ccprompt.core import oslite, store
from harness.states import as_state, paths_for


def _typed(document):
    return as_state(document) if isinstance(document, dict) else None


class promptcache:
    """The cache's verbs on the test's plain documents (as monitoring.json holds them)."""

    @staticmethod
    def render(document):
        return _promptcache.render(_typed(document))

    @staticmethod
    def write(home, document):
        store.write_prompt_cache(paths_for(home), _typed(document))

    @staticmethod
    def read(home):
        return store.read_prompt_cache(paths_for(home))


class render:
    ICONS = _render.ICONS

    @staticmethod
    def network_segment(document, style="full"):
        return _render.network_segment(_typed(document), style)

    @staticmethod
    def unknown_reason(document):
        return _render.unknown_reason(_typed(document))

PROBE_MS = 1_795_000_000_123


def state(status="healthy", latency=470, p95=450, **extra):
    base = {
        "schema": 1,
        "status": status,
        "monitoring_enabled": True,
        "api_config": {"endpoint": "https://api.anthropic.com/v1/messages", "source": "environment"},
        "network": {
            "latency_ms": latency,
            "breakdown": "DNS:12ms|TCP:30ms|TLS:45ms|TTFB:380ms|Total:470ms",
            "phases_ms": {"dns": 12, "tcp": 30, "tls": 45, "ttfb": 380, "total": latency},
            "last_http_status": 200,
            "error_type": None,
            "rolling_totals": [440, 450, 460, 470],
            "p80_latency_ms": 460,
            "p95_latency_ms": p95,
        },
        "monitoring_state": {"last_probe_mode": "GREEN", "last_probe_epoch_ms": PROBE_MS},
    }
    base.update(extra)
    return base


def lines_of(text):
    assert text.endswith("\n")
    lines = text[:-1].split("\n")
    assert len(lines) == 10, lines
    return lines


def head(text):
    """The first nine lines: all but when the next probe is due, which the store works out at write time."""
    return "\n".join(text.split("\n")[:9])


def test_a_healthy_state_gives_ten_fixed_lines():
    lines = lines_of(promptcache.render(state()))
    assert lines == [
        "ccprompt-prompt v1",
        str(PROBE_MS // 1000),
        "healthy",
        "🟢",
        "450",
        "470",
        "🟢",
        "🟢 470ms",
        "🟢 P95:450ms",
        "",
    ]


@pytest.mark.parametrize("status", ["healthy", "degraded", "error"])
def test_segments_are_the_renderer_s_in_every_style(status):
    current = state(status=status, latency=990)
    lines = lines_of(promptcache.render(current))
    assert lines[2] == status
    assert lines[3] == render.ICONS[status]
    assert lines[6:9] == [render.network_segment(current, style) for style in ("icon", "short", "full")]


def test_no_state_reads_as_unknown_with_epoch_zero():
    lines = lines_of(promptcache.render(None))
    assert lines[:6] == ["ccprompt-prompt v1", "0", "unknown", "⚪", "", ""]
    assert lines[6] == "⚪"
    assert lines[7] == lines[8] == "⚪ no probe yet"


def test_monitoring_off_is_unknown_whatever_the_last_status():
    lines = lines_of(promptcache.render(state(monitoring_enabled=False)))
    assert lines[2:4] == ["unknown", "⚪"]
    assert lines[8] == "⚪ monitoring off"


def test_p95_before_enough_samples_is_empty_not_zero():
    lines = lines_of(promptcache.render(state(p95=0)))
    assert lines[4] == ""
    assert lines[8] == "🟢 P95:N/A"


@pytest.mark.parametrize("bad", [None, "450", True, -5, float("nan"), 10**12, [1]])
def test_numbers_that_are_not_sane_milliseconds_are_left_empty(bad):
    lines = lines_of(promptcache.render(state(p95=bad, latency=bad)))
    assert lines[4] == lines[5] == ""


def test_fractional_milliseconds_are_rounded():
    lines = lines_of(promptcache.render(state(p95=449.6, latency=470.4)))
    assert lines[4:6] == ["450", "470"]


@pytest.mark.parametrize("monitoring", [None, {}, {"last_probe_epoch_ms": "yesterday"}, {"last_probe_epoch_ms": -1}])
def test_an_unusable_probe_time_is_zero(monitoring):
    current = state()
    current["monitoring_state"] = monitoring
    assert lines_of(promptcache.render(current))[1] == "0"


def test_hostile_text_cannot_add_lines_or_escapes():
    hostile = "line1\nline2\r\x1b]2;pwned\x07\x1b[31m%F{red}$(reboot)`id`\x00\x9b31m"
    current = state(status="unknown", reason=hostile)
    text = promptcache.render(current)
    lines = lines_of(text)
    for line in lines:
        assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in line), repr(line)
    # Line 9 is the renderer's text with the escapes taken out and in the shell-safe
    # alphabet: the characters of prompt syntax (%F, $(...), backticks) are dropped, so a
    # prompt that pastes the value in never runs or renders it.
    assert lines[8] == text_module.shell_safe("⚪ " + render.unknown_reason(current))
    assert lines[8].startswith("⚪ line1 line2 F{red}(reboot)id")
    assert not any(ch in lines[8] for ch in "`$%\\!'\"")
    assert "pwned" not in text


def test_a_status_word_outside_the_four_is_unknown():
    lines = lines_of(promptcache.render(state(status="on fire\n")))
    assert lines[2] == "unknown"


def test_not_a_dict_is_treated_as_no_state():
    assert promptcache.render(["healthy"]) == promptcache.render(None)


def test_write_is_private_atomic_and_leaves_no_temp_files(tmp_path):
    home = tmp_path / "ccprompt"
    promptcache.write(str(home), state())
    target = home / "prompt"
    assert head(target.read_text(encoding="utf-8")) == head(promptcache.render(state()))
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert sorted(os.listdir(home)) == ["prompt"]


def test_write_replaces_the_file_rather_than_rewriting_it(tmp_path):
    promptcache.write(str(tmp_path), state())
    before = os.stat(tmp_path / "prompt").st_ino
    promptcache.write(str(tmp_path), state(status="error", latency=2000))
    after = os.stat(tmp_path / "prompt")
    assert after.st_ino != before  # a reader holding the old file still sees a whole file
    assert promptcache.read(str(tmp_path))["status"] == "error"


def test_readers_racing_writers_only_ever_see_whole_files(tmp_path):
    home = str(tmp_path)
    promptcache.write(home, state())
    wanted = {head(promptcache.render(state(status=s))) for s in ("healthy", "degraded", "error")}
    stop = threading.Event()
    seen = set()

    def reader():
        while not stop.is_set():
            with open(os.path.join(home, "prompt"), encoding="utf-8") as handle:
                text = handle.read()
                seen.add(head(text) if len(lines_of(text)) == 10 else text)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for i in range(300):
            promptcache.write(home, state(status=("healthy", "degraded", "error")[i % 3]))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert seen and seen <= wanted


def test_read_parses_what_write_wrote_and_refuses_foreign_files(tmp_path):
    assert promptcache.read(str(tmp_path)) is None
    promptcache.write(str(tmp_path), state(status="degraded", latency=990))
    parsed = promptcache.read(str(tmp_path))
    assert parsed["status"] == "degraded"
    assert parsed["latency_ms"] == "990"
    assert parsed["short_segment"] == "🟡 990ms"
    (tmp_path / "prompt").write_text("ccprompt-prompt v2\n1\nhealthy\n", encoding="utf-8")
    assert promptcache.read(str(tmp_path)) is None


def test_a_failed_write_keeps_the_old_file_and_cleans_up(tmp_path, monkeypatch):
    home = str(tmp_path)
    promptcache.write(home, state())
    old = (tmp_path / "prompt").read_text(encoding="utf-8")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(oslite, "fsync", broken_fsync)
    with pytest.raises(OSError):
        promptcache.write(home, state(status="error"))
    assert (tmp_path / "prompt").read_text(encoding="utf-8") == old
    assert sorted(os.listdir(home)) == ["prompt"]


def test_the_last_line_is_when_the_scheduler_will_next_find_a_probe_due(tmp_path):
    """Sooner while a failure is on show: the second failure in a row is retried 10 s after it."""
    import time

    probed_ms = int(time.time() * 1000) - 5000
    failing = state(status="error", latency=2000)
    failing["monitoring_state"] = {"last_probe_mode": "RED", "last_probe_epoch_ms": probed_ms - probed_ms % 1000,
                                   "last_baseline_epoch_ms": probed_ms, "failed_in_a_row": 2}
    promptcache.write(str(tmp_path), failing)
    assert int(promptcache.read(str(tmp_path))["due"]) == (probed_ms - probed_ms % 1000) // 1000 + 10
    healthy = state()
    healthy["monitoring_state"] = {"last_probe_epoch_ms": probed_ms, "last_baseline_epoch_ms": probed_ms}
    promptcache.write(str(tmp_path), healthy)
    # Between baselines, a path check (DNS, TCP, TLS) is due 20 s after the last probe.
    assert int(promptcache.read(str(tmp_path))["due"]) == -(-(probed_ms + 20_000) // 1000)


def test_a_cache_written_before_the_due_line_still_reads():
    nine = "".join(line + "\n" for line in lines_of(promptcache.render(state()))[:9])
    assert _promptcache.parse(nine)["due"] == "" and _promptcache.parse(nine)["status"] == "healthy"
