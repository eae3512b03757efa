"""Every path ccprompt uses, resolved once from one environment.

HOME, `CCPROMPT_HOME`, `CLAUDE_CONFIG_DIR`, `CCPROMPT_CONFIG` and the XDG variables are
read here and nowhere else, so the credential lookup, `install statusline` and doctor
all agree on which `settings.json` and which state directory they mean.
"""

import sys

from ccprompt.core import oslite

STATE_FILE = "monitoring.json"
PROMPT_FILE = "prompt"
PROMPT_SESSION_FILE = "prompt-session"
HISTORY_FILE = "history.jsonl"
DEBUG_FILE = "debug.log"
LOCK_FILE = "probe.lock"
WATCH_PID_FILE = "watch.pid"
REQUESTS_FILE = "requests.jsonl"
CONFIG_CACHE_FILE = "config.cache.json"


class Paths:
    """The files and directories of one environment (the process environment unless given)."""

    __slots__ = ("env", "home", "state_dir", "claude_dir", "config_file", "config_home")

    def __init__(self, env=None):
        env = oslite.environ() if env is None else env
        self.env = env
        self.home = env.get("HOME") or oslite.expanduser("~")
        configured = env.get("CCPROMPT_HOME")
        if configured:
            self.state_dir = oslite.abspath(self.expand(configured))
        else:
            self.state_dir = oslite.join(self.home, ".claude", "ccprompt")
        claude = env.get("CLAUDE_CONFIG_DIR")
        self.claude_dir = oslite.abspath(self.expand(claude)) if claude else oslite.join(self.home, ".claude")
        self.config_home = env.get("XDG_CONFIG_HOME") or oslite.join(self.home, ".config")
        if env.get("CCPROMPT_CONFIG"):
            self.config_file = self.expand(env["CCPROMPT_CONFIG"])
        else:
            self.config_file = oslite.join(self.config_home, "ccprompt", "config.toml")

    def expand(self, path: str) -> str:
        """`~` against this environment's HOME, not the process's."""
        if path == "~" or path.startswith("~/"):
            return self.home + path[1:]
        return path

    def in_state(self, name: str) -> str:
        return oslite.join(self.state_dir, name)

    @property
    def state_file(self) -> str:
        return self.in_state(STATE_FILE)

    @property
    def prompt_file(self) -> str:
        return self.in_state(PROMPT_FILE)

    @property
    def prompt_session_file(self) -> str:
        return self.in_state(PROMPT_SESSION_FILE)

    @property
    def history_file(self) -> str:
        return self.in_state(HISTORY_FILE)

    @property
    def debug_file(self) -> str:
        return self.in_state(DEBUG_FILE)

    @property
    def lock_file(self) -> str:
        return self.in_state(LOCK_FILE)

    @property
    def watch_pid_file(self) -> str:
        return self.in_state(WATCH_PID_FILE)

    def endpoint_state_file(self, endpoint: str) -> str:
        """Where one endpoint's state is kept, so sessions on different endpoints never mix."""
        return self.in_state(f"endpoints/{endpoint_key(endpoint)}.json")

    @property
    def requests_file(self) -> str:
        return self.in_state(REQUESTS_FILE)

    @property
    def init_dir(self) -> str:
        return self.in_state("init")

    @property
    def claude_settings(self) -> str:
        """Claude Code's user settings: `$CLAUDE_CONFIG_DIR/settings.json`, else `~/.claude/settings.json`."""
        return oslite.join(self.claude_dir, "settings.json")

    def rc_file(self, shell: str) -> str:
        """The rc file a shell's init line belongs in."""
        if shell == "zsh":
            return oslite.join(self.env.get("ZDOTDIR") or self.home, ".zshrc")
        if shell == "bash":
            return oslite.join(self.home, ".bashrc")
        return oslite.join(self.config_home, "fish", "config.fish")


def endpoint_key(endpoint: str) -> str:
    """A short, stable file name for an endpoint (its host, and a checksum of the whole URL)."""
    import zlib

    host = endpoint.partition("://")[2].partition("/")[0].rpartition("@")[2]
    safe = "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in host)[:60] or "endpoint"
    return f"{safe}-{zlib.crc32(endpoint.encode('utf-8', 'replace')):08x}"


def base_endpoint(env) -> str:
    """The endpoint a session in this environment talks to (ANTHROPIC_BASE_URL, else the API's).

    Claude Code hands its own environment, settings included, to the status line, so this
    needs no file reads; the probe resolves the full credential chain itself.
    """
    from ccprompt.core.text import normalise_base_url, redact_url

    base, _ = normalise_base_url(env.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com")
    return redact_url(base.rstrip("/") + "/v1/messages")


def inside_claude_code(env) -> bool:
    """This process runs under Claude Code (the status line, a hook, its Bash tool), in its environment."""
    return env.get("CLAUDECODE") == "1"


def package_parent() -> str:
    """The directory that holds the `ccprompt` package."""
    return oslite.dirname(oslite.dirname(oslite.dirname(oslite.abspath(__file__))))


# Python 3.10 has no -P: drop sys.path[0] (the current directory, for -c) before any import.
_BOOT = "import sys;del sys.path[0];import runpy;runpy.run_module(sys.argv.pop(1),run_name='__main__',alter_sys=True)"


def python_module(module: str, python: str | None = None, version: tuple | None = None) -> list[str]:
    """`python -m MODULE` that never imports from the current directory.

    Plain `-m` puts the current directory first on the import path, so a `ccprompt/`
    package in the repository the user works in would run instead of ours. `-P` (3.11+)
    leaves it out and keeps everything else: PYTHONPATH, the user's site directory, `.pth` files.
    """
    python = python or sys.executable or "python3"
    if (version or sys.version_info) >= (3, 11):
        return [python, "-P", "-m", module]
    return [python, "-c", _BOOT, module]


def imports_from_cwd(words) -> bool:
    """Whether a command line runs ccprompt as `python -m ccprompt…` without -P or -I.

    Such a command, run in a project directory (Claude Code starts its status line and MCP
    servers there), imports a `ccprompt/` package found in that directory first.
    """
    words = [str(word) for word in words]
    for at, word in enumerate(words[:-1]):
        if word == "-m" and words[at + 1].split(".")[0] == "ccprompt":
            flags = [w for w in words[:at] if w.startswith("-") and not w.startswith("--")]
            return not any("P" in w or "I" in w for w in flags)
    return False


def executable_words(argv0: str | None = None, env=None) -> list[str]:
    """How to run this ccprompt again, as separate words.

    The console script itself when we were started through it (an existing file named
    `ccprompt`), else `<python> -P -m ccprompt` (see `python_module`). When the package is importable only
    because of the current directory or PYTHONPATH (a source checkout), PYTHONPATH is
    set through `env` so the command works from any directory and any environment.
    """
    env = oslite.environ() if env is None else env
    if argv0 is None:
        argv0 = sys.argv[0] if sys.argv else ""
    if argv0 and oslite.basename(argv0) == "ccprompt":
        path = oslite.abspath(argv0)
        if oslite.isfile(path):
            return [path]
    words = python_module("ccprompt")
    parent = package_parent()
    # Paths that come with the interpreter (site-packages, .pth files) hold for every later
    # run; the current directory and this process's own PYTHONPATH do not.
    passing = {oslite.abspath(p) for p in env.get("PYTHONPATH", "").split(oslite.pathsep) if p}
    lasting = {oslite.abspath(p) for p in sys.path[1:] if p} - passing
    if parent not in lasting:
        launcher = "/usr/bin/env" if oslite.exists("/usr/bin/env") else "env"
        words = [launcher, f"PYTHONPATH={parent}"] + words
    return words
