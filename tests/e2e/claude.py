"""The real Claude Code CLI, installed from npm at pinned versions and driven in tmux.

``versions_under_test()`` names the releases the suite runs against: the pinned older one
and the current one, or what ``CCPROMPT_E2E_CLAUDE_VERSION`` asks for (``latest``, ``2.1.400``
or a comma list). ``ensure_claude_code(version)`` finds (or installs) each in a cache
directory outside the repository. ``ClaudeCode`` starts it in a detached tmux session with a throwaway HOME,
a from-scratch environment and ccprompt as its statusLine, types into it and reads the
screen back with ``capture-pane``. A background thread samples the status line, so a
test can say when each thing showed up, relative to what the fake API did.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness import REPO_ROOT, TEST_KEY

# The pinned releases: the older one the first e2e tests were written against, and the one
# users ran when these were last re-checked (see docs/testing.md). .ci/run installs the same.
PINNED_VERSIONS = ("2.1.197", "2.1.332")
CLAUDE_CODE_VERSION = PINNED_VERSIONS[0]
VERSION_ENV = "CCPROMPT_E2E_CLAUDE_VERSION"
EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
DIST_TAG = re.compile(r"^[a-z][a-z0-9-]{0,30}$")  # npm dist-tags: latest, stable, next
PACKAGE = "@anthropic-ai/claude-code"
INSTALL_TIMEOUT_S = 900
NETWORK_ICONS = ("🟢", "🟡", "🔴", "⚪")
# Claude Code's own hint rows under the status line ("← for agents", "? for shortcuts",
# "⏵⏵ accept edits on", the "● high · /effort" indicator): where the status line ends.
HINT_PREFIXES = ("←", "?", "⏵", "●", "⏸", "⧉", "✓", "※")
RULE = re.compile(r"^─{20,}$")


class ClaudeCodeUnavailable(Exception):
    """npm or node is missing, or the pinned package could not be installed or run."""


class ScreenTimeout(AssertionError):
    """Something the test needs to happen on screen (a reply, a retry notice) did not."""


class StatusLineMismatch(AssertionError):
    """The status line did not show what it should: the defect these tests exist to catch."""


# -- install and locate ------------------------------------------------------

def cache_root() -> Path:
    return Path(os.environ.get("CCPROMPT_E2E_DIR") or Path.home() / ".cache" / "ccprompt-e2e")


def install_prefix(version: str = CLAUDE_CODE_VERSION) -> Path:
    return cache_root() / version


def versions_under_test(env: dict | None = None) -> list[str]:
    """The releases to run against: $CCPROMPT_E2E_CLAUDE_VERSION's list, else the pinned ones.

    Each entry is an exact version (``2.1.400``) or an npm dist-tag (``latest``), resolved
    when it is installed. Anything else is refused, so a typo cannot become an npm argument.
    """
    env = os.environ if env is None else env
    raw = (env.get(VERSION_ENV) or "").strip()
    if not raw:
        return list(PINNED_VERSIONS)
    wanted = []
    for item in (part.strip() for part in raw.split(",")):
        if item == "pinned":
            wanted += [v for v in PINNED_VERSIONS if v not in wanted]
            continue
        if not (EXACT_VERSION.match(item) or DIST_TAG.match(item)):
            raise ValueError(f"{VERSION_ENV}: {item!r} is neither a version like 2.1.400 nor a dist-tag like latest")
        if item not in wanted:
            wanted.append(item)
    return wanted


def resolve_version(wanted: str) -> str:
    """An exact version for ``wanted``: itself, or what npm's dist-tag of that name points at."""
    if EXACT_VERSION.match(wanted):
        return wanted
    npm = shutil.which("npm")
    if npm is None:
        raise ClaudeCodeUnavailable(f"npm not found on PATH: cannot resolve {PACKAGE}@{wanted}")
    try:
        result = subprocess.run([npm, "view", f"{PACKAGE}@{wanted}", "version"], capture_output=True, text=True,
                                timeout=120, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ClaudeCodeUnavailable(f"npm view {PACKAGE}@{wanted} took over 120s") from None
    found = result.stdout.strip().splitlines()[-1:] if result.returncode == 0 else []
    if not found or not EXACT_VERSION.match(found[0].strip().strip("'")):
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ClaudeCodeUnavailable(f"npm view {PACKAGE}@{wanted} gave no version: " + " / ".join(tail))
    return found[0].strip().strip("'")


def _candidates(prefix: Path) -> list[list[str]]:
    modules = prefix / "node_modules"
    found = [
        [str(modules / ".bin" / "claude")],
        [str(modules / "@anthropic-ai" / "claude-code" / "bin" / "claude.exe")],
        [str(modules / "@anthropic-ai" / "claude-code" / "bin" / "claude")],
    ]
    # The native binary ships in a per-platform optional dependency.
    found += [[str(path)] for path in sorted((modules / "@anthropic-ai").glob("claude-code-*/claude"))]
    wrapper = modules / "@anthropic-ai" / "claude-code" / "cli-wrapper.cjs"
    node = shutil.which("node")
    if node:
        found.append([node, str(wrapper)])
    return found


def _reports_version(argv: list[str], version: str) -> bool:
    if not os.access(argv[0], os.X_OK) or not all(Path(a).exists() for a in argv):
        return False
    env = {"CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", os.defpath), "HOME": str(cache_root()),
           "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
    try:
        result = subprocess.run([*argv, "--version"], capture_output=True, text=True, timeout=60,
                                env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    words = result.stdout.split()
    return result.returncode == 0 and bool(words) and words[0] == version  # "2.1.332 (Claude Code)"


def locate(prefix: Path, version: str = CLAUDE_CODE_VERSION) -> list[str] | None:
    """The first command under ``prefix`` that runs and reports ``version``."""
    for argv in _candidates(prefix):
        if _reports_version(argv, version):
            return argv
    return None


def ensure_claude_code(version: str = CLAUDE_CODE_VERSION) -> list[str]:
    """argv that runs Claude Code ``version`` (exact), installing it with npm first if needed."""
    prefix = install_prefix(version)
    found = locate(prefix, version)
    if found:
        return found
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise ClaudeCodeUnavailable("npm/node not found on PATH: cannot install "
                                    f"{PACKAGE}@{version} (.ci/run installs them)")
    prefix.mkdir(parents=True, exist_ok=True)
    with open(cache_root() / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be installing the same version
        found = locate(prefix, version)
        if found:
            return found
        try:
            result = subprocess.run(
                [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", f"{PACKAGE}@{version}"],
                capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise ClaudeCodeUnavailable(f"npm install {PACKAGE}@{version} took over {INSTALL_TIMEOUT_S}s") from None
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            raise ClaudeCodeUnavailable(f"npm install {PACKAGE}@{version} failed "
                                        f"(exit {result.returncode}): " + " / ".join(tail))
        found = locate(prefix, version)
    if not found:
        raise ClaudeCodeUnavailable(f"npm installed {PACKAGE}@{version} into {prefix}, but no "
                                    "claude binary there runs on this platform")
    return found


# -- what is on screen --------------------------------------------------------

def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: wide (East Asian W/F) characters count 2."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or char in "\u200d\ufe0f":
            continue
        width += 2 if unicodedata.east_asian_width(char) in "WF" else 1
    return width


@dataclass(frozen=True)
class Screen:
    """One capture of the pane."""

    text: str
    mono: float  # time.monotonic() of the capture

    @property
    def rows(self) -> list[str]:
        return [line.rstrip() for line in self.text.rstrip("\n").split("\n")]

    def __contains__(self, needle: str) -> bool:
        return needle in self.text

    @property
    def status_rows(self) -> list[str]:
        """The status line's rows, without Claude Code's 2-column indent.

        They sit right under the input box's bottom rule and end at Claude Code's own
        hint row or a blank row. Text Claude Code right-aligns on the same row (the
        effort indicator) is dropped: it is set off by a run of spaces.
        """
        rows = self.rows
        rules = [i for i, row in enumerate(rows) if RULE.match(row.strip())]
        if len(rules) < 2:
            return []
        out = []
        for row in rows[rules[-1] + 1:]:
            text = row[2:] if row.startswith("  ") else row
            text = re.split(r" {4,}", text.strip(), maxsplit=1)[0] if text.strip() else ""
            if not text or text.startswith(HINT_PREFIXES):
                break
            out.append(text)
        return out

    @property
    def status_line(self) -> str:
        """The status line's rows joined with newlines ("" when none is shown)."""
        return "\n".join(self.status_rows)

    @property
    def network_row(self) -> str | None:
        """The status row holding the network segment (the one with a health icon)."""
        for row in self.status_rows:
            if any(icon in row for icon in NETWORK_ICONS):
                return row
        return None

    @property
    def network_segment(self) -> str | None:
        """The network segment as shown: from its icon to the end of its row."""
        row = self.network_row
        if row is None:
            return None
        start = min(row.index(icon) for icon in NETWORK_ICONS if icon in row)
        return row[start:]


# Claude Code's own retry notice, in any release's wording: "API error · Retrying in 19s ·
# attempt 7/10" (2.1.197), "529 Overloaded · retrying in 5s · attempt 4/10" (2.1.332).
# The notice may wrap at a narrow width, hence up to 80 characters of anything in between.
RETRY_NOTICE = re.compile(r"\bretrying\b[\s\S]{0,80}?\battempt\s+(\d+)\s*/\s*(\d+)", re.IGNORECASE)
# Claude Code giving up on a turn: "API Error: 529 Overloaded..." or "API Error: Repeated 529
# Overloaded errors" (a status code within a few words of it).
GAVE_UP = re.compile(r"\bAPI\s+Error\b[^\n\d]{0,30}?\b(\d{3})\b", re.IGNORECASE)


def retrying(screen: "Screen | str") -> re.Match | None:
    """Claude Code's retry notice on ``screen`` (the match: attempt, of how many), or None."""
    return RETRY_NOTICE.search(screen.text if isinstance(screen, Screen) else screen)


def gave_up(screen: "Screen | str", status: int | None = None) -> bool:
    """Claude Code showing that it gave up on a turn (with ``status``, if given)."""
    text = screen.text if isinstance(screen, Screen) else screen
    return any(status is None or int(m.group(1)) == status for m in GAVE_UP.finditer(text))


# -- a timeline of what happened when ----------------------------------------

@dataclass
class Timeline:
    """Labelled moments on the monotonic clock; the first mark of a label is the one read back."""

    origin: float = field(default_factory=time.monotonic)
    events: list = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def mark(self, label: str, at: float | None = None, detail: str = "") -> float:
        at = time.monotonic() if at is None else at
        with self._lock:
            self.events.append((at, label, detail))
        return at

    def at(self, label: str) -> float | None:
        with self._lock:
            times = [t for t, name, _ in self.events if name == label]
        return min(times) if times else None

    def seconds(self, start: str, end: str) -> float | None:
        a, b = self.at(start), self.at(end)
        return None if a is None or b is None else round(b - a, 2)

    def dump(self) -> str:
        with self._lock:
            events = sorted(self.events)
        return "\n".join(f"  +{t - self.origin:7.2f}s  {name}" + (f"  {detail}" if detail else "")
                         for t, name, detail in events)


# -- the driver ---------------------------------------------------------------

AUTH_MODES = ("key", "helper")
# A subscriber's credential store, planted for keyless runs: Claude Code's own, which ccprompt
# may stat but never read. Tests grep everything ccprompt wrote or showed for this value.
SUBSCRIBER_SECRET = "sk-ant-oat01-e2e-subscriber-" + "5ec2e7" * 8


class ClaudeCode:
    """One Claude Code process in its own tmux server, with a throwaway HOME under ``root``.

    ``model`` is passed as ``--model``; ``is_sandbox`` sets ``IS_SANDBOX=yes`` (True) or
    leaves it out of the environment (False), since it changes how long 529s are retried.

    ``auth="key"`` puts the test key in ``ANTHROPIC_API_KEY``, so ccprompt's probe carries it.
    ``auth="helper"`` is a keyless user as ccprompt sees one: Claude Code gets the key from an
    ``apiKeyHelper`` in its settings.json (which ccprompt never runs), and a subscriber's
    ``~/.claude/.credentials.json`` holding SUBSCRIBER_SECRET sits beside it.

    ``refresh_interval=None`` takes the statusLine entry `ccprompt install statusline`
    writes (its command and refreshInterval) instead of writing one.
    """

    def __init__(self, argv: list[str], base_url: str, root: Path, *, width: int = 100, height: int = 30,
                 model: str | None = None, is_sandbox: bool = False, refresh_interval: int | None = 1,
                 extra_env: dict | None = None, workdir_name: str = "work",
                 source_root: Path = REPO_ROOT, version: str = CLAUDE_CODE_VERSION, auth: str = "key") -> None:
        if auth not in AUTH_MODES:
            raise ValueError(f"auth {auth!r}: expected one of {AUTH_MODES}")
        self.version = version
        self.auth = auth
        self.argv = list(argv)
        self.base_url = base_url
        self.root = Path(root)
        self.width, self.height = width, height
        self.model = model
        self.is_sandbox = is_sandbox
        self.refresh_interval = refresh_interval
        self.extra_env = dict(extra_env or {})
        self.source_root = Path(source_root)
        self.home = self.root / "home"
        self.work = self.root / workdir_name  # its name is the status line's directory segment
        self.ccprompt_home = self.home / ".claude" / "ccprompt"
        self.socket = f"ccprompt-e2e-{uuid.uuid4().hex[:12]}"
        self.timeline = Timeline()
        self.status_history: list[tuple[float, str]] = []
        self.pane_pid: int | None = None
        self.socket_path: str | None = None
        self._watch_stop = threading.Event()
        self._watcher: threading.Thread | None = None

    # -- setup ---------------------------------------------------------------

    @property
    def statusline_command(self) -> str:
        return f"{shlex.quote(sys.executable)} -m ccprompt statusline"

    def environment(self) -> dict[str, str]:
        """Built from scratch: nothing of the caller's environment but PATH."""
        env = {
            "CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(self.home),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "ANTHROPIC_BASE_URL": self.base_url,
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CCPROMPT_HOME": str(self.ccprompt_home),
            "CCPROMPT_DEBUG": "1",  # debug.log: one line per render, so renders can be counted
            "PYTHONPATH": str(self.source_root),  # `-m ccprompt` imports this checkout
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        if self.auth == "key":
            env["ANTHROPIC_API_KEY"] = TEST_KEY
        if self.is_sandbox:
            env["IS_SANDBOX"] = "yes"
        env.update(self.extra_env)
        return env

    def _write_config(self) -> None:
        (self.home / ".claude").mkdir(parents=True, exist_ok=True)
        self.work.mkdir(parents=True, exist_ok=True)
        if shutil.which("git"):
            subprocess.run(["git", "init", "-q", "-b", "main", str(self.work)], check=True,
                           capture_output=True, env={"CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", os.defpath),
                                                     "HOME": str(self.home)})
        state = {
            "hasCompletedOnboarding": True,
            "lastOnboardingVersion": self.version,
            "theme": "dark",
            "autoUpdates": False,
            "customApiKeyResponses": {"approved": [TEST_KEY[-20:]], "rejected": []},
            "projects": {str(self.work): {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True,
                                          "allowedTools": []}},
        }
        (self.home / ".claude.json").write_text(json.dumps(state, indent=2))
        settings_path = self.home / ".claude" / "settings.json"
        if self.refresh_interval is None:
            settings = self._installed_settings(settings_path)
        else:
            settings = {"statusLine": {"type": "command", "command": self.statusline_command,
                                       "padding": 0, "refreshInterval": self.refresh_interval}}
        if self.auth == "helper":
            settings["apiKeyHelper"] = str(self._write_key_helper())
            store = self.home / ".claude" / ".credentials.json"
            store.write_text(json.dumps({"claudeAiOauth": {
                "accessToken": SUBSCRIBER_SECRET, "refreshToken": SUBSCRIBER_SECRET[::-1],
                "expiresAt": 4102444800000, "scopes": ["user:inference", "user:profile"],
                "subscriptionType": "max"}}))
            store.chmod(0o600)
        settings_path.write_text(json.dumps(settings, indent=2))
        conf = ("set -g status off\nset -g remain-on-exit on\nset -g default-terminal xterm-256color\n"
                "set -g escape-time 0\nset -g history-limit 2000\n")
        (self.root / "tmux.conf").write_text(conf)
        # The key goes into a launcher script (outside CCPROMPT_HOME), not into tmux's argv.
        args = list(self.argv) + (["--model", self.model] if self.model else [])
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.environment().items())
        script = (f"#!/bin/sh\ncd {shlex.quote(str(self.work))} || exit 1\n"
                  f"exec /usr/bin/env -i {assignments} {' '.join(shlex.quote(a) for a in args)}\n")
        launcher = self.root / "launch-claude.sh"
        launcher.write_text(script)
        launcher.chmod(0o700)

    def _installed_settings(self, path: Path) -> dict:
        """settings.json as `ccprompt install statusline` leaves it in this HOME."""
        env = {k: v for k, v in self.environment().items() if not k.startswith("ANTHROPIC_")}
        result = subprocess.run([sys.executable, "-m", "ccprompt", "install", "statusline"], env=env, cwd=self.work,
                                capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise AssertionError(f"ccprompt install statusline failed: {result.stderr.strip()}")
        settings = json.loads(path.read_text())
        self.refresh_interval = settings["statusLine"].get("refreshInterval")
        return settings

    def _write_key_helper(self) -> Path:
        """Claude Code's apiKeyHelper: a script that prints the key (outside CCPROMPT_HOME)."""
        helper = self.root / "api-key-helper.sh"
        helper.write_text(f"#!/bin/sh\nprintf '%s\\n' {shlex.quote(TEST_KEY)}\n")
        helper.chmod(0o700)
        return helper

    def tmux(self, *args: str, check: bool = True) -> str:
        env = {"CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", os.defpath), "HOME": str(self.home), "LANG": "C.UTF-8",
               "TERM": "xterm-256color"}
        result = subprocess.run(["tmux", "-u", "-L", self.socket, "-f", str(self.root / "tmux.conf"), *args],
                                capture_output=True, text=True, timeout=15, env=env)
        if check and result.returncode != 0:
            raise AssertionError(f"tmux {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def start(self, ready_timeout: float = 45.0) -> "ClaudeCode":
        self._write_config()
        self.tmux("new-session", "-d", "-x", str(self.width), "-y", str(self.height), "-s", "cc",
                  str(self.root / "launch-claude.sh"))
        self.timeline.mark("claude started")
        with contextlib.suppress(AssertionError, ValueError):
            pid, self.socket_path = self.tmux("display-message", "-p", "-t", "cc",
                                              "#{pane_pid} #{socket_path}").strip().split(" ", 1)
            self.pane_pid = int(pid)
        self._watcher = threading.Thread(target=self._watch, name=f"watch:{self.socket}", daemon=True)
        self._watcher.start()
        self.wait_for_screen(lambda s: any(row.startswith("❯") for row in s.rows) and len(
            [r for r in s.rows if RULE.match(r.strip())]) >= 2, ready_timeout, "the input box")
        self.timeline.mark("input box shown")
        return self

    def stop(self) -> None:
        self._watch_stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        self.tmux("kill-server", check=False)
        if self.socket_path:  # tmux leaves the socket file behind
            with contextlib.suppress(OSError):
                os.unlink(self.socket_path)
        if self.pane_pid:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _alive(self.pane_pid):
                time.sleep(0.1)
            if _alive(self.pane_pid):
                with contextlib.suppress(OSError):
                    os.kill(self.pane_pid, signal.SIGKILL)

    # -- reading ---------------------------------------------------------------

    def screen(self) -> Screen:
        text = self.tmux("capture-pane", "-p", "-t", "cc")
        return Screen(text, time.monotonic())

    def statusline_row(self) -> str:
        """The status line as shown now, its rows joined with newlines."""
        return self.screen().status_line

    def wait_for_screen(self, predicate: Callable[[Screen], object], timeout: float, what: str,
                        error: type[AssertionError] = ScreenTimeout, interval: float = 0.2) -> Screen:
        """Poll the pane until ``predicate(screen)`` holds; return that screen (its ``mono`` is when)."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if predicate(screen):
                return screen
            if time.monotonic() >= deadline:
                raise error(f"no {what} on screen within {timeout:.0f}s.\n{self.diagnostics(screen)}")
            time.sleep(interval)

    def wait_for_status(self, predicate: Callable[[str], object], timeout: float, what: str,
                        error: type[AssertionError] = StatusLineMismatch) -> Screen:
        """Poll until the status line satisfies ``predicate``; a timeout raises ``error``.

        The default, StatusLineMismatch, is for what ccprompt should show; pass
        ScreenTimeout where the status line is only a step on the way to the check.
        """
        return self.wait_for_screen(lambda s: predicate(s.status_line), timeout, f"status line showing {what}",
                                    error=error)

    def diagnostics(self, screen: Screen | None = None) -> str:
        screen = screen or self.screen()
        history = "\n".join(f"  +{t - self.timeline.origin:7.2f}s  {text!r}" for t, text in self.status_history[-25:])
        return (f"--- screen ({self.width}x{self.height}) ---\n{screen.text.rstrip()}\n"
                f"--- status line history ---\n{history}\n--- timeline ---\n{self.timeline.dump()}")

    def render_count(self) -> int | None:
        """How many times the statusLine command rendered, from ccprompt's debug log (None if unreadable)."""
        path = self.ccprompt_home / "debug.log"
        try:
            return sum(1 for line in path.read_text(errors="replace").splitlines() if '"render"' in line)
        except OSError:
            return None

    def _watch(self) -> None:
        last = None
        while not self._watch_stop.wait(0.25):
            try:
                screen = self.screen()
                line = screen.status_line
            except Exception:  # a pane mid-redraw or a tmux hiccup must not end the sampling
                continue
            if line != last:
                self.status_history.append((screen.mono, line))
                last = line

    def first_status(self, predicate: Callable[[str], object], after: float = 0.0) -> float | None:
        """When the sampled status line first satisfied ``predicate`` at or after ``after``."""
        for mono, line in list(self.status_history):
            if mono >= after and predicate(line):
                return mono
        return None

    # -- typing ----------------------------------------------------------------

    def send_prompt(self, text: str) -> float:
        """Type ``text`` and press Enter; returns when Enter was sent (monotonic)."""
        self.tmux("send-keys", "-t", "cc", "-l", text)
        time.sleep(0.4)  # let the input box take the text before Enter, or it may read as a paste
        self.tmux("send-keys", "-t", "cc", "Enter")
        return self.timeline.mark(f"prompt sent: {text}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie left for tmux to reap counts as gone
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
