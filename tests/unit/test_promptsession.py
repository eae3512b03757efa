"""The session file: one session's segments for the shell prompt, and the countdowns made from it."""

from __future__ import annotations

import json
import os

import pytest

from ccprompt.core import promptsession
from ccprompt.core import session_rules as rules
from ccprompt.core.session_rules import SessionSummary
from ccprompt.sources.sessions import scan
from harness.sessionfiles import reply, shifted_lines, user_prompt

SID = "0b6c1f0e-5a57-4c1e-9d1a-2f0f2b8c7a11"
NOW = 6_000_000.0


def folded(entries) -> SessionSummary:
    summary = SessionSummary()
    scan.fold(summary, "\n".join(json.dumps(e) for e in entries).encode() + b"\n")
    return scan.totals(summary)


def status_line_env(summary, now):
    """What the status line's own segments say for the same session (no proxy)."""
    return {f"CCPROMPT_{name.upper()}": text for name, (text, _) in rules.segments(summary, now).items()}


SESSIONS = {
    "waiting": [user_prompt(NOW - 90, SID), reply(NOW - 80, SID, cache_write=30_000), user_prompt(NOW - 40, SID)],
    "idle, cache warm": [user_prompt(NOW - 30, SID), reply(NOW - 20, SID, cache_read=150_000, input_tokens=10)],
    "one-hour cache": [user_prompt(NOW - 60, SID), reply(NOW - 50, SID, cache_write=40_000, cache_1h=40_000)],
    "errored": shifted_lines("transcript-529.jsonl", NOW - 10, SID),
    "no cache use": [user_prompt(NOW - 30, SID), reply(NOW - 20, SID, input_tokens=5_000)],
}


@pytest.mark.parametrize("name", SESSIONS)
@pytest.mark.parametrize("later_s", [0, 45, 200, 400])
def test_the_prompt_says_what_the_status_line_says(name, later_s):
    summary = folded(SESSIONS[name])
    text = promptsession.render(summary, "1:2:3:", None)
    assert promptsession.values(text, NOW + later_s) == status_line_env(summary, NOW + later_s)


def test_the_file_holds_epochs_and_short_labels_only():
    summary = folded(SESSIONS["waiting"])
    lines = promptsession.render(summary, "7:8:9:200000", 200_000).split("\n")
    assert lines == ["ccprompt-session v1", "7:8:9:200000", str(int(NOW - 40)), str(int(NOW - 80 + 300)),
                     "ctx 15%", str(int(NOW - 40)), "", ""]


def test_claude_code_s_own_percentage_wins_and_keeps_the_estimate():
    growing = [user_prompt(NOW - 100 + i * 10, SID) if i % 2 == 0 else
               reply(NOW - 95 + i * 10, SID, cache_read=140_000 + i * 4000, input_tokens=10) for i in range(6)]
    summary = folded(growing)
    own = rules.context_segment(summary)[0]
    assert own == "ctx 80% · ~2 turns to compact"
    text = promptsession.render(summary, "k", None, percent=82.6)
    assert promptsession.values(text, NOW)["CCPROMPT_CONTEXT"] == "ctx 83% · ~2 turns to compact"
    for odd in (True, -1, float("nan"), "80"):
        assert promptsession.values(promptsession.render(summary, "k", None, odd), NOW)["CCPROMPT_CONTEXT"] == own


def test_a_wait_turns_into_a_stall_after_five_minutes():
    text = promptsession.render(folded(SESSIONS["waiting"]), "k")
    assert promptsession.values(text, NOW + 259)["CCPROMPT_SESSION"] == "waiting 4m59s"
    assert promptsession.values(text, NOW + 260)["CCPROMPT_SESSION"] == "stalled 5m00s"


def test_a_session_quiet_for_an_hour_sets_nothing():
    text = promptsession.render(folded(SESSIONS["idle, cache warm"]), "k")
    assert promptsession.values(text, NOW - 20 + 3600)["CCPROMPT_CONTEXT"] == "ctx 75%"
    assert promptsession.values(text, NOW - 20 + 3601) == {"CCPROMPT_CACHE": "", "CCPROMPT_CONTEXT": "",
                                                           "CCPROMPT_SESSION": ""}


@pytest.mark.parametrize("text", ["", "ccprompt-session v2\nk\n1\n2\nctx 1%\n\n\n",
                                  "ccprompt-session v1\nk\n", "ccprompt-session v1\nk\nsoon\n\nctx 9%\n\n\n"])
def test_anything_but_a_whole_v1_file_sets_nothing(text):
    assert set(promptsession.values(text, NOW).values()) == {""}


def test_values_from_a_transcript_cannot_carry_control_characters_or_lines():
    summary = folded(SESSIONS["errored"])
    summary.last_error = {"code": 529, "type": "over\x1b]2;pwned\x07\nloaded"}
    text = promptsession.render(summary, "k\n9")
    assert text.count("\n") == promptsession.LINES
    assert "\x1b" not in text and "\x07" not in text
    assert promptsession.values(text, NOW)["CCPROMPT_SESSION"].startswith("API 529 over")


def test_the_stamp_changes_with_the_transcript_and_the_window(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text("{}\n")
    first = promptsession.stamp(os.stat(path), 200_000)
    assert promptsession.stamp(os.stat(path), 200_000) == first
    assert promptsession.stamp(os.stat(path), 1_000_000) != first
    with open(path, "a") as handle:
        handle.write("{}\n")
    assert promptsession.stamp(os.stat(path), 200_000) != first


def test_a_line_appended_after_the_reading_is_written_on_the_next_render(tmp_path):
    # A render reads the transcript, then writes the session file. When Claude Code appends the
    # prompt between the two, the file must not be keyed as if it held that prompt: the wait the
    # status line shows on its next render would never reach the shell prompt.
    import time

    from ccprompt.core.paths import Paths
    from ccprompt.sources import transcript
    from ccprompt.surfaces import sessionfile

    paths = Paths({"HOME": str(tmp_path), "CCPROMPT_HOME": str(tmp_path / "state")})
    os.makedirs(paths.state_dir, mode=0o700)
    path = tmp_path / f"{SID}.jsonl"
    path.write_text("")
    now = time.time()
    before = transcript.read(str(path))
    with open(path, "a") as handle:  # the prompt lands while the render is between reading and writing
        handle.write(json.dumps(user_prompt(now - 20, SID)) + "\n")
    assert sessionfile.update(paths, str(path), 200_000, before)
    assert promptsession.values(open(paths.prompt_session_file).read(), now)["CCPROMPT_SESSION"] == ""

    assert sessionfile.update(paths, str(path), 200_000, transcript.read(str(path)))
    shown = promptsession.values(open(paths.prompt_session_file).read(), now)
    assert shown["CCPROMPT_SESSION"].startswith("waiting "), shown
    assert not sessionfile.update(paths, str(path), 200_000, transcript.read(str(path)))  # nothing new: no write
