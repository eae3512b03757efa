"""The one option table: every command, its parameters and help, declared once.

Both parsers read it: `cli.fast` (standard library, for the commands that run on every
prompt or redraw) and `cli.app` (Typer, for help and everything else). A test walks
the Typer app and compares it with this table.
"""

from __future__ import annotations


class Param:
    """One option (`flags` set) or positional argument (`flags` empty).

    kind: "str", "int", "float", "choice", "flag", or "rest" (a positional that takes
    every remaining word, options included, as a list; a `--` before it is optional).
    """

    __slots__ = ("name", "flags", "kind", "default", "help", "choices", "low", "high", "metavar", "hidden",
                 "invalid", "bare")

    def __init__(self, name, flags=(), kind="str", default=None, help="", choices=None, low=None, high=None,
                 metavar=None, hidden=False, invalid=None, bare=None):
        self.name, self.flags, self.kind, self.default, self.help = name, tuple(flags), kind, default, help
        self.choices, self.low, self.high, self.metavar, self.hidden = choices, low, high, metavar, hidden
        self.invalid = invalid  # the message for a value outside `choices`, with {value}
        # An option whose value may be left out (`--serve` alone): the value it then takes.
        self.bare = bare

    @property
    def shown_metavar(self) -> str:
        if self.metavar:
            return self.metavar
        if self.choices:
            return "[" + "|".join(self.choices) + "]"
        return {"int": "INTEGER", "float": "NUMBER", "rest": "ARGS..."}.get(self.kind, "TEXT")

    @property
    def positional(self) -> bool:
        return not self.flags


class Command:
    """`words` is the command as typed (`("install", "shell")`); `target` is `module:function`.

    `fast` marks the commands on the hot path (every prompt or redraw): their modules stay on
    the standard library, which tests/integration/test_hot_path_imports.py checks.
    """

    __slots__ = ("words", "target", "help", "params", "fast")

    def __init__(self, words, target, help, params=(), fast=False):
        self.words, self.target, self.help, self.params, self.fast = tuple(words), target, help, tuple(params), fast

    @property
    def name(self) -> str:
        return " ".join(self.words)

    def function(self):
        module, _, attr = self.target.partition(":")
        return getattr(__import__(module, fromlist=[attr]), attr)


SHELLS = ("bash", "zsh", "fish")
STYLES = ("icon", "short", "full")
POSITIONS = ("left", "right", "title", "none")
SEGMENTS = ("network", "model", "directory", "git", "context", "cost", "session", "cache", "incident", "limits")
SNIPPETS = ("starship", "tmux", "posix", "watch.service", "proxy.service", "watch.plist", "proxy.plist")
_SHELL_ARG = Param("shell", kind="choice", choices=SHELLS, help="bash, zsh or fish (detected when omitted).",
                   invalid="unsupported shell {value!r}; ccprompt supports bash, zsh and fish")
_DRY_RUN = Param("dry_run", ("--dry-run",), "flag", False, "Show the change only.")

COMMANDS = (
    Command(("probe",), "ccprompt.commands.probe:probe",
            "Probe the API now and record the result.\n\n"
            "Exit 0: the API answered and is healthy or degraded; 1: error; 2: usage or config error.",
            (
                Param("verbose", ("--verbose", "-v"), "flag", False, "Phase waterfall and every fact behind the verdict."),
                Param("as_json", ("--json",), "flag", False, "Print the outcome as one JSON object."),
                Param("timeout_ms", ("--timeout-ms",), "int", None, "Give up after this many milliseconds.",
                      low=1, high=60000, metavar="MS"),
                Param("no_write", ("--no-write",), "flag", False, "Do not record the result."),
                Param("count", ("--count", "-c"), "int", None,
                      "Probe N times in a row, like ping -c: one line each, then a summary. The answers "
                      "become baseline samples.", low=1, high=1000, metavar="N"),
                Param("interval", ("--interval", "-i"), "float", 1.0, "Seconds between probes with --count.",
                      low=0.0, high=3600.0, metavar="SECONDS"),
            ), fast=True),
    Command(("statusline",), "ccprompt.commands.statusline:statusline",
            "Claude Code's statusLine command: reads the session JSON on stdin, prints the line.",
            (Param("sync", ("--sync",), "flag", False, "Wait for a due probe instead of detaching it."),
             Param("segment", ("--segment",), "choice", None,
                   "Print only this segment, for another status line's custom-command widget.",
                   choices=SEGMENTS, metavar="NAME"),
             Param("keep", ("--keep",), "flag", False, hidden=True),
             Param("preview", ("--preview",), "flag", False,
                   "Show every state the line can take (healthy, slow, 529, DNS failure, waiting, retrying, "
                   "keyless, narrow) from built-in samples; nothing is probed, read or written.")),
            fast=True),
    Command(("status",), "ccprompt.commands.status:status", "Show the current state without probing.",
            (
                Param("as_json", ("--json",), "flag", False, "Print the whole state as JSON."),
                Param("style", ("--style",), "choice", "full", "icon, short or full.", choices=STYLES),
            ), fast=True),
    Command(("refresh",), "ccprompt.commands.refresh:refresh",
            "Run the scheduler once: probe if one is due, under the cross-process lock.",
            (
                Param("sync", ("--sync",), "flag", False, "Wait for the lock and the probe, and say what happened."),
                Param("session", ("--session",), "str", None, hidden=True),
                Param("duration_ms", ("--duration-ms",), "int", None, hidden=True, low=0),
                Param("transcript", ("--transcript",), "str", None, hidden=True),
                Param("model", ("--model",), "str", None, hidden=True),
                Param("not_before_ms", ("--not-before",), "int", None, hidden=True, low=0),
            ), fast=True),
    Command(("init",), "ccprompt.commands.init:init",
            'Print the shell integration script: eval "$(ccprompt init zsh)".',
            (
                _SHELL_ARG,
                Param("position", ("--position",), "choice", "left",
                      "Where the segment goes: left, right, title or none.", choices=POSITIONS),
                Param("style", ("--style",), "choice", "short", "icon, short or full.", choices=STYLES),
                Param("no_refresh", ("--no-refresh",), "flag", False, "Never start a background refresh."),
                Param("wrap_claude", ("--wrap-claude",), "flag", False,
                      "Also define `claude` as `ccprompt run claude`, so every session goes through the proxy."),
            ), fast=True),
    Command(("run",), "ccprompt.commands.run:run",
            "Run a command (claude) with ANTHROPIC_BASE_URL pointing at a healthy local proxy: "
            "ccprompt run claude [ARGS]...\n\nThe proxy for this upstream is found (or started, supervised, "
            "in the background); when none can be had the command runs directly and one line on stderr "
            "says so. Everything after `run` (options included) is the command; a `--` first is optional.",
            (Param("command", kind="rest", help="The command to run, then its own arguments and options.", metavar="COMMAND"),),
            fast=True),
    Command(("proxy",), "ccprompt.commands.proxy:proxy",
            "Run the pass-through proxy to the API in the foreground, until stopped.\n\n"
            "It forwards to the upstream the probe would use (ANTHROPIC_BASE_URL with its path prefix, the "
            "same CA and proxy settings), streams every response unchanged, and records redacted metadata "
            "of each attempt in requests.jsonl and the status line's state. A server that dies is "
            "restarted on the same port.",
            (
                Param("host", ("--host",), "str", "127.0.0.1",
                      "Interface to listen on; anything but loopback exposes the proxy to the network.",
                      metavar="HOST"),
                Param("port", ("--port",), "int", None,
                      "Port to listen on (a free one when omitted). A taken port is an error (exit 2), never "
                      "another port.",
                      low=0, high=65535, metavar="PORT"),
                Param("capture", ("--capture",), "str", None,
                      "Also write full requests and responses (prompts and replies; auth headers redacted) "
                      "to 0600 files in DIR, newest 400 kept. Off by default.", metavar="DIR"),
            )),
    Command(("proxy", "status"), "ccprompt.commands.proxy:proxy_status",
            "The running proxies: URL, supervisor and server pids, clients (commands `run` started through "
            "each), uptime, and who started it.",
            (Param("as_json", ("--json",), "flag", False, "The same as one JSON object."),)),
    Command(("proxy", "stop"), "ccprompt.commands.proxy:proxy_stop",
            "Stop every running proxy cleanly (a proxy `run` started also stops by itself after "
            "[proxy] idle_stop_s with no client).\n\nExit 0 when none is left running, 1 otherwise."),
    Command(("install", "statusline"), "ccprompt.commands.install:install_statusline",
            "Point Claude Code's statusLine at ccprompt (keeps every other setting, backs up the file).",
            (_DRY_RUN,
             Param("keep", ("--keep",), "flag", False,
                   "Keep the current statusLine command and append the network segment to its line."))),
    Command(("uninstall", "statusline"), "ccprompt.commands.install:uninstall_statusline",
            "Remove ccprompt's statusLine entry from Claude Code's settings.", (_DRY_RUN,)),
    Command(("install", "shell"), "ccprompt.commands.install:install_shell",
            "Add the init line to your shell's rc file, in a marked block (an init line already "
            "there is recognised and kept).",
            (_SHELL_ARG, _DRY_RUN,
             Param("position", ("--position",), "choice", None, "left, right, title or none (init's default: left).",
                   choices=POSITIONS),
             Param("style", ("--style",), "choice", None, "icon, short or full (init's default: short).",
                   choices=STYLES))),
    Command(("uninstall", "shell"), "ccprompt.commands.install:uninstall_shell",
            "Remove ccprompt's marked block from your shell's rc file (from every one that has it "
            "when no shell is named).", (_SHELL_ARG, _DRY_RUN)),
    Command(("uninstall", "all"), "ccprompt.commands.install:uninstall_all",
            "Undo all the wiring (status line, shell blocks, MCP entry), then list what is left behind.\n\n"
            "With --purge, also remove ccprompt's own leftovers: its backups, the files it created that "
            "are empty again, its state directory. Your config and any file ccprompt did not create are "
            "kept.",
            (Param("purge", ("--purge",), "flag", False, "Remove ccprompt's own leftovers too."), _DRY_RUN)),
    Command(("watch",), "ccprompt.commands.watch:watch",
            "Keep the state fresh: probe every interval, back off on failure, share the lock with everything "
            "else.\n\nExit 0 when stopped by SIGTERM, SIGINT or SIGHUP; 1 when another watch is already running. "
            "With --once: 0 healthy or degraded, 1 error, 2 nothing could be probed, 128+N stopped by signal N.",
            (
                Param("interval", ("--interval",), "float", None,
                      "Seconds between probes while healthy (default 300, or [watch] interval_s in the config).",
                      low=1.0, metavar="SECONDS"),
                Param("once", ("--once",), "flag", False, "Probe once (or adopt a probe that just finished) and exit."),
                Param("as_json", ("--json",), "flag", False, "Progress on stderr as JSON lines."),
                Param("textfile", ("--textfile",), "str", None, "Rewrite DIR/ccprompt.prom after every probe.",
                      metavar="DIR"),
                Param("retry_s", ("--retry-s",), "float", 10.0, hidden=True, low=0.01),
            )),
    Command(("history",), "ccprompt.commands.history:history",
            "Recent probes: a sparkline of Total latency, P50, P95 and error rate, then a table.",
            (
                Param("since", ("--since",), "str", "1h", "How far back: 90s, 30m, 1h, 1h30m, 2d, 1w or all.",
                      metavar="DURATION"),
                Param("as_json", ("--json",), "flag", False, "The period's figures and records as JSON."),
                Param("limit", ("--limit",), "int", 50, "Table rows to show, newest last (0: all).", low=0),
                Param("all_endpoints", ("--all-endpoints",), "flag", False,
                      "Every endpoint's probes, not only the one this environment uses."),
            )),
    Command(("metrics",), "ccprompt.commands.metrics:metrics",
            "Prometheus text exposition of the state, the history and the sessions.",
            (Param("textfile", ("--textfile",), "str", None,
                   "Write DIR/ccprompt.prom atomically (node_exporter textfile collector) instead of printing.",
                   metavar="DIR"),
             Param("serve", ("--serve",), "str", None,
                   "Serve /metrics over HTTP on ADDR (127.0.0.1:9464 with `--serve` alone; a bare port means "
                   "127.0.0.1:PORT) until SIGTERM or SIGINT. Answers only a loopback or the bound Host.",
                   metavar="[ADDR]", bare="127.0.0.1:9464"),
             Param("by_session", ("--by-session",), "flag", False,
                   "Also export one series per session id (unbounded labels: keep it for small fleets)."))),
    Command(("sessions",), "ccprompt.commands.sessions:sessions",
            "Recent Claude Code sessions: state, context, turns, tools, API errors, prompt cache, cost.\n\n"
            "Read from the transcripts' tails (and the proxy's requests.jsonl when there is one); those "
            "needing attention come first. A `+` marks counts that cover only the tail of a long transcript.",
            (
                Param("as_json", ("--json",), "flag", False, "Every session's values as JSON."),
                Param("since", ("--since",), "str", "2h", "Sessions active within: 90s, 30m, 2h, 1d or all.",
                      metavar="DURATION"),
                Param("show_all", ("--all",), "flag", False, "Every session, however old."),
                Param("watch", ("--watch",), "flag", False,
                      "A live view that redraws every second, with a line for each notable change."),
                Param("interval", ("--interval",), "float", 1.0, "Seconds between redraws with --watch.",
                      low=0.1, high=60.0, metavar="SECONDS"),
            ), fast=True),
    Command(("postmortem",), "ccprompt.commands.postmortem:postmortem",
            "A markdown report on one session: summary, timeline, likely cause, tool loops.\n\n"
            "Redacted: no prompt text, no absolute paths, no tool inputs.",
            (
                Param("session", kind="str", default="last", help="A session id, a prefix of one, or `last`.",
                      metavar="SESSION"),
                Param("as_json", ("--json",), "flag", False, "The same report as JSON."),
            )),
    Command(("mcp",), "ccprompt.commands.mcp:mcp",
            "Run the MCP server on stdio: API health, history, sessions and doctor as tools."),
    Command(("install", "mcp"), "ccprompt.commands.mcp:install_mcp",
            "Register `ccprompt mcp` as a user-scope MCP server in Claude Code (~/.claude.json; keeps every "
            "other key, backs up the file), once it has answered an MCP handshake.", (_DRY_RUN,)),
    Command(("uninstall", "mcp"), "ccprompt.commands.mcp:uninstall_mcp",
            "Remove ccprompt's MCP server from Claude Code's ~/.claude.json.", (_DRY_RUN,)),
    Command(("config",), "ccprompt.commands.config:config_show",
            "The effective configuration: each value and where it came from (default, file, environment).",
            (Param("as_json", ("--json",), "flag", False, "The same as one JSON object."),)),
    Command(("config", "check"), "ccprompt.commands.config:config_check",
            "Validate the config file: bad values, and unknown keys with a suggestion.\n\n"
            "Exit 0 when it is valid, 2 when something is wrong."),
    Command(("explain",), "ccprompt.commands.explain:explain",
            "Why the line shows what it shows: the last probe, the rule that judged it, passive "
            "evidence, and when the next probe is due.",
            (Param("transcript", ("--transcript",), "str", None,
                   "A session transcript to read (default: the newest under ~/.claude/projects).",
                   metavar="PATH"),
             Param("as_json", ("--json",), "flag", False, "The same facts as one JSON object."))),
    Command(("completions",), "ccprompt.cli.completions:completions",
            "Print the completion script for a shell.\n\n"
            "bash: source <(ccprompt completions bash)\n"
            "zsh:  source <(ccprompt completions zsh)   (after compinit)\n"
            "fish: ccprompt completions fish | source\n\n"
            "Or save it where your shell looks for completions; docs/install.md says where.",
            (_SHELL_ARG,)),
    Command(("snippet",), "ccprompt.commands.snippet:snippet",
            "Print a shipped snippet: starship, tmux, posix (the prompt reader), or a service unit.",
            (Param("name", kind="choice", choices=SNIPPETS, metavar="NAME",
                   help="One of: " + ", ".join(SNIPPETS) + " (the list when omitted)."),)),
    Command(("doctor",), "ccprompt.commands.doctor:doctor",
            "Check every link to the API (credential, DNS, proxy, CA, TCP, TLS, probe, files, clock).\n\n"
            "Each line is ✓, ! or ✗ with a fix. Exit 0 when nothing is ✗, 1 otherwise. "
            "The probe it makes is not recorded.",
            (Param("as_json", ("--json",), "flag", False, "The same checks as one JSON object."),)),
)


def find(argv: list):
    """The command named at the start of argv and the remaining arguments, or (None, argv)."""
    best = None
    for command in COMMANDS:
        n = len(command.words)
        if tuple(argv[:n]) == command.words and (best is None or n > len(best.words)):
            best = command
    if best is None:
        return None, argv
    return best, argv[len(best.words):]


def groups() -> dict:
    """Each first word shared by several commands (`install`, `config`), with its commands."""
    found = {}
    for command in COMMANDS:
        if len(command.words) == 2:
            found.setdefault(command.words[0], []).append(command)
    return found
