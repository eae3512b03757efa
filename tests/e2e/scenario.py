"""What the issue's scenarios read off the screen, and a real bash prompt in tmux beside Claude Code.

The predicates look at structure only: the health icon, a cause word, an attempt number.
Nothing here depends on one Claude Code release's wording; the releases differ in what they
write to the transcript, and ``writes_attempt_lines`` asks the transcript itself.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

from harness import TEST_KEY

from ccprompt.surfaces.shell.rcfile import init_line

from .claude import NETWORK_ICONS, SUBSCRIBER_SECRET, ClaudeCode, ScreenTimeout

# The targets, with the settings `ccprompt install statusline` writes.
RED_TARGET_S = 15  # 🔴 naming the cause (or the attempt) after the first failed attempt
GREEN_TARGET_S = 15  # 🟢 after the recovery
SHELL_TARGET_S = 30  # the shell prompt, either way, with no session activity
# The screen is sampled every 0.25 s through tmux capture-pane; a change can be seen that
# much late. Bounds are target + this slack, and the figures are reported as measured.
SAMPLING_SLACK_S = 1.0
STALL_MARKER_S = 30  # the stall finding: "no waiting marker within 30 s"

ATTEMPT = re.compile(r"\battempt\s+(\d+)\b", re.IGNORECASE)
CAUSE_529 = re.compile(r"\b529\b|overload", re.IGNORECASE)
CAUSE_RETRYING = re.compile(r"\bretrying\b", re.IGNORECASE)
WAITING = ("⏳", "⌛")


def icons(line: str) -> set[str]:
    return {icon for icon in NETWORK_ICONS if icon in line}


def green(line: str) -> bool:
    return "🟢" in line


def red(line: str) -> bool:
    return "🔴" in line


def waiting(line: str) -> bool:
    """The waiting-turn marker: an hourglass, or the words, after the health icon if there is one."""
    start = min((line.index(i) for i in NETWORK_ICONS if i in line), default=0)
    rest = line[start:].lower()
    return any(mark in line for mark in WAITING) or "wait" in rest or "stall" in rest


def attempt_shown(line: str) -> int | None:
    match = ATTEMPT.search(line)
    return int(match.group(1)) if match else None


def red_expected(auth: str, attempts_written: bool):
    """What the line must show during a 529 storm: (predicate, description, target seconds).

    - with a key (the probe sees the 529): 🔴 and the cause, plus the attempt where the
      transcript records attempts; the issue's 15 s;
    - keyless where the transcript records attempts: 🔴, "retrying" and the attempt; 15 s;
    - keyless where it does not, nothing shows a failure: the waiting turn (⏳), never 🟢.
      The 15 s target does not cover this case; it is held to the stall's 30 s.
    """
    if auth == "key" and attempts_written:
        return (lambda line: red(line) and CAUSE_529.search(line) and attempt_shown(line)), \
            "🔴 naming 529/overloaded and the attempt", RED_TARGET_S
    if auth == "key":
        return (lambda line: red(line) and CAUSE_529.search(line)), "🔴 naming 529/overloaded", RED_TARGET_S
    if attempts_written:
        return (lambda line: red(line) and CAUSE_RETRYING.search(line) and attempt_shown(line)), \
            "🔴 saying Claude Code is retrying, with the attempt", RED_TARGET_S
    return (lambda line: waiting(line) and not green(line)), "the waiting turn (⏳), not 🟢", STALL_MARKER_S


# -- the transcript, asked what this release writes --------------------------

def transcripts(cc: ClaudeCode) -> list[Path]:
    return sorted((cc.home / ".claude" / "projects").glob("*/*.jsonl"))


def attempt_lines(cc: ClaudeCode) -> int:
    """How many ``api-request`` lines (one per attempt sent) the session's transcripts hold."""
    count = 0
    for path in transcripts(cc):
        with path.open("rb") as handle:
            for raw in handle:
                if b'"api-request"' not in raw:
                    continue
                try:
                    entry = json.loads(raw)
                except ValueError:
                    continue
                count += isinstance(entry, dict) and entry.get("type") == "api-request"
    return count


def writes_attempt_lines(cc: ClaudeCode, attempts_sent: int, timeout: float = 5.0) -> bool:
    """Whether this release writes one transcript line per attempt: after ``attempts_sent``
    attempts reached the API, there are that many lines (or none, on releases that do not)."""
    deadline = time.monotonic() + timeout
    while True:
        found = attempt_lines(cc)
        if found >= attempts_sent or time.monotonic() >= deadline:
            return found > 0
        time.sleep(0.2)


# -- measuring ---------------------------------------------------------------

def _first(cc: ClaudeCode, predicate, after: float, until: float) -> tuple[float, str] | None:
    """(when, line) of the first sampled status line satisfying ``predicate`` from ``after`` to
    ``until``; the line already on show at ``after`` counts, as shown at ``after``."""
    history = list(cc.status_history)
    on_show = [line for mono, line in history if mono < after][-1:]
    if on_show and predicate(on_show[0]):
        return after, on_show[0]
    return next(((mono, line) for mono, line in history if after <= mono <= until and predicate(line)), None)


def first_shown(cc: ClaudeCode, predicate, after: float, bound_s: float, what: str,
                error: type[AssertionError] | None = None) -> tuple[float | None, str | None]:
    """Seconds from ``after`` to the first sampled status line that satisfies ``predicate``,
    and that line, waiting until ``after + bound_s``. (None, None) when it did not by then;
    with ``error`` given, that is raised instead."""
    left = after + bound_s - time.monotonic()
    if left > 0:
        try:
            cc.wait_for_status(predicate, left, what, error=ScreenTimeout)
        except ScreenTimeout:
            pass
    time.sleep(0.3)  # the sampler's next pass
    found = _first(cc, predicate, after, after + bound_s)
    if found is not None:
        return round(found[0] - after, 2), found[1]
    if error is not None:
        raise error(f"no status line showing {what} within {bound_s:.0f}s\n{cc.diagnostics()}")
    return None, None


def lines_from(cc: ClaudeCode, predicate, after: float, end: float) -> list[str]:
    """Every status line shown from the first that satisfies ``predicate`` (at or after
    ``after``) up to ``end``; all of them from ``after`` (and the one on show then) if none did."""
    found = _first(cc, predicate, after, end)
    start = found[0] if found else after
    history = list(cc.status_history)
    before = [line for mono, line in history if mono < start][-1:] if found is None or found[0] == after else []
    return before + [line for mono, line in history if start <= mono <= end]


def secrets_in(cc: ClaudeCode) -> list[str]:
    """Where the subscriber's secret shows: status lines, the screen, ccprompt's files."""
    found = [f"status line {line!r}" for _, line in cc.status_history if SUBSCRIBER_SECRET in line]
    if SUBSCRIBER_SECRET in cc.screen().text:
        found.append("screen")
    if cc.ccprompt_home.is_dir():
        for path in cc.ccprompt_home.rglob("*"):
            if path.is_file() and SUBSCRIBER_SECRET.encode() in path.read_bytes():
                found.append(str(path))
    return found


# -- a real bash prompt in tmux ----------------------------------------------

class ShellPrompt:
    """An interactive bash in its own tmux server, its rc file the README's init line.

    It has its own HOME and CCPROMPT_HOME, so what its prompt shows comes from its own
    probes only. ``press_enter()`` draws a new prompt; ``prompt()`` reads the newest one.
    """

    MARK = "me>"

    def __init__(self, root: Path, base_url: str, auth: str, source_root: Path) -> None:
        self.root = Path(root)
        self.home = self.root / "home"
        self.state = self.home / ".claude" / "ccprompt"
        self.socket = f"ccprompt-e2e-sh-{uuid.uuid4().hex[:12]}"
        self.history: list[tuple[float, str]] = []
        self.env = {
            "HOME": str(self.home), "PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8",
            "TERM": "xterm-256color", "CCPROMPT_HOME": str(self.state), "ANTHROPIC_BASE_URL": base_url,
            "PYTHONPATH": str(source_root), "PYTHONDONTWRITEBYTECODE": "1", "CCPROMPT_STATUSPAGE_URL": "",
        }
        if auth == "key":
            self.env["ANTHROPIC_API_KEY"] = TEST_KEY

    def tmux(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(["tmux", "-u", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True,
                                text=True, timeout=15, env={"PATH": self.env["PATH"], "LANG": "C.UTF-8"})
        if check and result.returncode != 0:
            raise AssertionError(f"tmux {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def start(self, subscriber: bool) -> "ShellPrompt":
        (self.home / ".claude").mkdir(parents=True, exist_ok=True)
        if subscriber:
            store = self.home / ".claude" / ".credentials.json"
            store.write_text(json.dumps({"claudeAiOauth": {"accessToken": SUBSCRIBER_SECRET,
                                                           "expiresAt": 4102444800000}}))
            store.chmod(0o600)
        exe = [sys.executable, "-m", "ccprompt"]
        rc = self.home / ".bashrc"
        rc.write_text(f"PS1='{self.MARK} '\n{init_line('bash', exe, {'position': 'left'})}\n")
        launcher = self.root / "launch-shell.sh"
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        launcher.write_text(f"#!/bin/sh\nexec /usr/bin/env -i {assignments} bash --noprofile --rcfile "
                            f"{shlex.quote(str(rc))} -i\n")
        launcher.chmod(0o700)
        self.tmux("new-session", "-d", "-x", "120", "-y", "40", "-s", "sh", str(launcher))
        self.tmux("set-option", "-t", "sh", "history-limit", "100")
        return self

    def stop(self) -> None:
        self.tmux("kill-server", check=False)

    def press_enter(self) -> None:
        self.tmux("send-keys", "-t", "sh", "Enter")

    def prompt(self) -> str:
        text = self.tmux("capture-pane", "-p", "-J", "-t", "sh")
        rows = [row.rstrip() for row in text.splitlines() if self.MARK in row]
        return rows[-1].split(self.MARK, 1)[0].strip() if rows else ""

    def watch_until(self, predicate, after: float, bound_s: float, every_s: float = 1.0) -> tuple[float | None, str]:
        """Draw a prompt every ``every_s`` (a user pressing Enter, nothing else) until one satisfies
        ``predicate`` or ``bound_s`` passes; seconds from ``after`` to that prompt, and the prompt."""
        deadline = after + bound_s
        shown = ""
        while True:
            self.press_enter()
            time.sleep(0.3)  # bash draws the prompt after the hook
            shown = self.prompt()
            now = time.monotonic()
            if not self.history or self.history[-1][1] != shown:
                self.history.append((now, shown))
            if predicate(shown):
                return round(now - after, 2), shown
            if now >= deadline:
                return None, shown
            time.sleep(max(0.0, every_s - 0.3))

    def cache_written(self) -> int | None:
        """When the prompt cache was last written (ns), or None: each probe's result rewrites it."""
        try:
            return (self.state / "prompt").stat().st_mtime_ns
        except OSError:
            return None

    def until_next_probe(self, timeout: float, every_s: float = 1.0) -> float | None:
        """Draw a prompt every ``every_s`` until the prompt cache is rewritten (the shell's next
        probe has finished); seconds it took, or None after ``timeout``."""
        began, before = time.monotonic(), self.cache_written()
        while time.monotonic() - began < timeout:
            self.press_enter()
            time.sleep(every_s)
            if self.cache_written() != before:
                return round(time.monotonic() - began, 2)
        return None

    def secrets(self) -> list[str]:
        found = [f"prompt {line!r}" for _, line in self.history if SUBSCRIBER_SECRET in line or TEST_KEY in line]
        if self.state.is_dir():
            for path in self.state.rglob("*"):
                if path.is_file() and SUBSCRIBER_SECRET.encode() in path.read_bytes():
                    found.append(str(path))
        return found
