"""The real Claude Code's own payload fields on the line: the prompt cache's countdown and the 1M window.

Claude Code 2.1.332 hands the status line `prompt_cache` (with `expires_at` in epoch seconds)
and a 1M `context_window_size` for its 5.5 models; 2.1.197 hands neither, and the cache is
read from the transcript there. Either way, after a reply whose usage wrote the cache, the
`cache` segment counts down, and `sessions` reports the window Claude Code itself reported.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

from .claude import ScreenTimeout
from .test_claude_statusline import PROMPT, reply_count, wait_until_green

COUNTDOWN = re.compile(r"cache [0-9]m[0-5][0-9]s")


def test_the_cache_segment_counts_down_after_a_reply(start_claude, report_timing, tmp_path, claude_version):
    config = tmp_path / "ccprompt.toml"
    config.write_text('[statusline]\nsegments = ["cache", "context", "network"]\n')
    cc = start_claude(extra_env={"CCPROMPT_CONFIG": str(config)})
    wait_until_green(cc)
    sent = cc.send_prompt(PROMPT)
    cc.wait_for_screen(lambda s: reply_count(s) >= 1, 60, "the reply `● pong`", error=ScreenTimeout)
    screen = cc.wait_for_status(lambda line: COUNTDOWN.search(line), 20, "a `cache 4m59s` countdown")
    shown = COUNTDOWN.search(cc.statusline_row()).group(0)
    left_s = int(shown.split()[1][0]) * 60 + int(shown.split()[1][2:4])
    # The fake API's usage wrote a 5-minute cache moments ago; Claude Code's `expires_at` is
    # whole epoch seconds, so the first render can still show the full 5m00s.
    assert 180 <= left_s <= 300, shown

    env = {k: v for k, v in cc.environment().items() if k != "ANTHROPIC_API_KEY"}
    rows = json.loads(subprocess.run([sys.executable, "-m", "ccprompt", "sessions", "--json", "--all"], env=env,
                                     capture_output=True, text=True, timeout=60).stdout)["sessions"]
    assert rows, "sessions found no session"
    windows = {row["context_window"] for row in rows}
    assert windows == {1_000_000}, rows  # Sonnet 5.5 (2.1.332) and Opus 4.8 [1m] (2.1.197) alike
    keys = set()
    for line in (cc.ccprompt_home / "debug.log").read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "stdin" or event.get("kind") == "stdin" or "keys" in event:
            keys.update(event.get("keys") or [])
    if claude_version.startswith("2.1.332"):
        assert "prompt_cache" in keys, sorted(keys)  # the countdown came from Claude Code's own figure
    report_timing("payload cache", seconds_prompt_to_countdown=round(screen.mono - sent, 2), cache=shown,
                  context_windows=sorted(windows))
