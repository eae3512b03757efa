"""The configuration: defaults, then config.toml, then environment variables, each value checked.

`Config.load` never raises for a bad value. It keeps the default for that key and records
a problem naming the key and where it came from; commands refuse to run on problems
(exit 2), while the status line and the prompt render with the defaults. Unknown keys
are warnings, with a "did you mean" suggestion.

A parsed config.toml is cached as JSON in the state directory: tomllib imports `re` and
friends, which would double the status line's start-up. The cache is read and written only
in a state directory that is the user's alone (`files.read_state`): a cache planted by
another user is never used.
"""


from ccprompt.core import CcpromptError, oslite
from ccprompt.core.paths import CONFIG_CACHE_FILE, Paths

TIMEOUT_CAP_MS = 6000
SEGMENTS = ("model", "directory", "git", "context", "cost", "network", "session", "cache", "incident", "limits")
DEFAULT_STATUSPAGE = "https://status.claude.com"
STYLES = ("icon", "short", "full")


class Key:
    """One setting: its type, default, range and, when it has one, its environment variable."""

    __slots__ = ("name", "kind", "default", "low", "high", "choices", "env", "help")

    def __init__(self, name, kind, default, low=None, high=None, choices=None, env=None, help=""):
        self.name, self.kind, self.default = name, kind, default
        self.low, self.high, self.choices, self.env, self.help = low, high, choices, env, help


KEYS = (
    Key("probe_model", "str", "claude-haiku-4-5", env="CCPROMPT_PROBE_MODEL",
        help="model the probe asks; a current, cheap one"),
    Key("anonymous", "bool", True, help="probe without a credential (a 401 still proves the path)"),
    Key("monitoring_enabled", "bool", True, help="false: no probes, the segment says `monitoring off`"),
    Key("timeout_ms", "int?", None, 1, 10**9, env="CCPROMPT_TIMEOUT_MS",
        help=f"probe timeout; capped at {TIMEOUT_CAP_MS}"),
    Key("green_interval_s", "int", 300, 10, 86400, help="seconds between baseline probes"),
    Key("red_interval_s", "int", 10, 1, 3600, help="seconds between probes while Claude Code reports errors"),
    Key("path_interval_s", "int", 20, 0, 3600,
        help="between baselines, check DNS, TCP and TLS this often (no request, no key); 0: off"),
    Key("red_recent_s", "int", 600, 10, 86400, help="how old a transcript API error may be to count"),
    Key("waiting_s", "int", 10, 1, 3600, help="a turn waiting this long on the API triggers a probe"),
    Key("cold_window_ms", "int", 5000, 0, 3_600_000, env="CCPROMPT_COLD_WINDOW_MS",
        help="a session younger than this gets a first (COLD) probe"),
    Key("cold_quiet_s", "int", 30, 0, 3600, help="skip a COLD probe if any probe finished this recently"),
    Key("slow_floor_ms", "float", 250.0, 0.0, 5000.0,
        help="a 2xx is slow only when also this much slower than the usual (docs/verdict.md)"),
    Key("slow_factor", "float", 2.0, 1.2, 10.0, help="this many times the usual is slow whatever the spread"),
    Key("error_after_ms", "float", 4000.0, 1000.0, 60000.0,
        help="a 2xx this slow is degraded at once and an error the second time in a row"),
    Key("degraded_factor", "float", 1.25, 1.0, 100.0, help="no longer used (the verdict is robust now); accepted"),
    Key("error_factor", "float", 2.0, 1.0, 100.0, help="no longer used (the verdict is robust now); accepted"),
    Key("jsonl_tail_kb", "int", 64, 1, 4096, env="CCPROMPT_JSONL_TAIL_KB",
        help="no longer used (the transcript reader finds the current turn itself); accepted"),
    Key("sync", "bool", False, help="the status line waits for a due probe"),
    Key("debug", "bool", False, env="CCPROMPT_DEBUG", help="JSON lines in debug.log"),
    Key("statusline.segments", "segments", list(SEGMENTS[:6]), help="segments in order"),
    Key("statusline.style", "choice", "full", choices=STYLES, help="network segment style"),
    Key("statusline.separator", "str0", " | ", help="between segments"),
    Key("statusline.format", "str0", "", help="a jinja2 template instead of segments"),
    Key("statuspage_url", "url0", DEFAULT_STATUSPAGE, env="CCPROMPT_STATUSPAGE_URL",
        help="the public status page (statuspage.io) read off the render path; empty turns it off"),
    Key("prompt.refresh_interval_s", "int", 300, 10, 86400,
        help="the prompt starts a refresh at least this often (sooner when the scheduler says a probe is due)"),
    Key("watch.interval_s", "float", 300.0, 1.0, 86400.0, help="seconds between watch's probes"),
    Key("watch.textfile_dir", "str?", None, help="watch rewrites DIR/ccprompt.prom"),
    Key("proxy.idle_stop_s", "int", 600, 0, 604800, env="CCPROMPT_PROXY_IDLE_STOP_S",
        help="a proxy `run` started stops after this many seconds with no command running through it (0: never)"),
    Key("proxy.head_timeout_s", "float", 10.0, 1.0, 600.0, help="a request's head must arrive whole this soon"),
    Key("proxy.body_timeout_s", "float", 60.0, 1.0, 3600.0, help="a request's body must arrive whole this soon"),
    Key("proxy.idle_timeout_s", "float", 120.0, 1.0, 86400.0,
        help="a client connection with no request in progress is closed after this"),
    Key("proxy.max_connections", "int", 1024, 16, 1_000_000,
        help="client connections at once; past it the longest idle goes, else a 503"),
    Key("proxy.buffer_mb", "int", 32, 8, 65536, help="request bytes the proxy holds at once, all clients together"),
)
BY_NAME = {key.name: key for key in KEYS}
SECTIONS = {name.split(".")[0] for name in BY_NAME if "." in name}


class Problem:
    """A value that could not be used: which key, from where, and why."""

    __slots__ = ("key", "source", "message")

    def __init__(self, key: str, source: str, message: str):
        self.key, self.source, self.message = key, source, message

    def line(self) -> str:
        return f"{self.key} in {self.source}: {self.message}"


class ConfigError(CcpromptError):
    """The configuration cannot be used; the message is one line naming the key and file."""

    exit_code = 2


class Config:
    """Checked values by dotted name, where each came from, and what was wrong."""

    __slots__ = ("values", "sources", "problems", "unknown", "path")

    def __init__(self, path: str):
        self.path = path
        self.values = {key.name: _copy(key.default) for key in KEYS}
        self.sources = dict.fromkeys(self.values, "default")
        self.problems: list = []
        self.unknown: list = []

    def __getitem__(self, name: str):
        return self.values[name]

    def get(self, name: str, default=None):
        return self.values.get(name, default)

    @property
    def timeout_ms(self):
        value = self.values["timeout_ms"]
        return None if value is None else min(value, TIMEOUT_CAP_MS)

    def first_problem(self) -> str | None:
        return self.problems[0].line() if self.problems else None

    def warnings(self) -> list:
        """`unknown key 'probe_modle' in FILE (did you mean 'probe_model'?)` for each unknown key."""
        import difflib

        lines = []
        for name in self.unknown:
            close = difflib.get_close_matches(name, list(BY_NAME) + sorted(SECTIONS), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            lines.append(f"unknown key {name!r} in {self.path}{hint}")
        return lines

    def raise_for_problems(self) -> None:
        if self.problems:
            raise ConfigError(self.first_problem())

    @classmethod
    def load(cls, paths: Paths | None = None) -> "Config":
        """Defaults, then config.toml, then environment variables; never raises."""
        paths = paths or Paths()
        config = cls(paths.config_file)
        try:
            document = _read_toml(paths)
        except ConfigError as exc:
            config.problems.append(Problem("config", paths.config_file, str(exc)))
            document = {}
        for name, value in _flatten(document):
            key = BY_NAME.get(name)
            if key is None:
                config.unknown.append(name)
                continue
            config._set(key, value, paths.config_file)
        for key in KEYS:
            raw = paths.env.get(key.env) if key.env else None
            # An empty variable is unset, except where empty is a value (it turns a feature off).
            if raw is not None and (raw.strip() or key.kind == "url0"):
                config._set(key, _from_env(key, raw), f"${key.env}")
        return config

    def _set(self, key: Key, value, source: str) -> None:
        try:
            self.values[key.name] = check(key, value)
            self.sources[key.name] = source
        except ValueError as exc:
            self.problems.append(Problem(key.name, source, str(exc)))


def _copy(value):
    return list(value) if isinstance(value, list) else value


def _flatten(document: dict, prefix: str = ""):
    for name, value in document.items():
        dotted = f"{prefix}{name}"
        if isinstance(value, dict) and not prefix and name in SECTIONS:
            yield from _flatten(value, dotted + ".")
        else:
            yield dotted, value


def _from_env(key: Key, raw: str):
    text = raw.strip()
    if key.kind == "bool":
        return text.lower() in ("1", "true", "yes", "on")
    if key.kind in ("int", "int?", "float"):
        try:
            return float(text) if key.kind == "float" or "." in text or "e" in text.lower() else int(text)
        except ValueError:
            return text  # check() names it
    return text


def check(key: Key, value):
    """The value if it fits the key's type and range; raises ValueError saying what would."""
    kind = key.kind
    if value is None and kind.endswith("?"):
        return None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise ValueError(f"must be true or false, not {_show(value)}")
    if kind in ("int", "int?", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"must be a number, not {_show(value)}")
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"must be a finite number, not {value}")
        if kind != "float":
            if value != int(value):
                raise ValueError(f"must be a whole number, not {value}")
            value = int(value)
        if (key.low is not None and value < key.low) or (key.high is not None and value > key.high):
            raise ValueError(f"must be between {key.low:g} and {key.high:g}, not {value:g}")
        return value
    if kind in ("str", "str0", "str?"):
        if not isinstance(value, str):
            raise ValueError(f"must be a string, not {_show(value)}")
        if kind == "str" and not value.strip():
            raise ValueError("must not be empty")
        return value
    if kind == "url0":
        return _url0(value)
    if kind == "choice":
        if value not in key.choices:
            raise ValueError(f"must be one of {', '.join(key.choices)}, not {_show(value)}")
        return value
    if kind == "segments":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"must be a list of segment names, not {_show(value)}")
        unknown = [v for v in value if v not in SEGMENTS]
        if unknown:
            raise ValueError(f"unknown segment {unknown[0]!r} (known: {', '.join(SEGMENTS)})")
        return list(value)
    raise ValueError(f"unchecked kind {kind}")


def _url0(value) -> str:
    """Empty (off) or an http(s) URL with a host and no space or control character."""
    if not isinstance(value, str):
        raise ValueError(f"must be a URL or empty, not {_show(value)}")
    value = value.strip()
    if not value:
        return ""
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or rest.startswith("/"):
        raise ValueError("must be an http(s) URL or empty")
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in value) or not value.isascii():
        raise ValueError("must be an ASCII URL without spaces or control characters")
    if "@" in rest.partition("/")[0]:  # a public page needs no password, and none is ever kept
        raise ValueError("must not carry a user name or password")
    return value


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _read_toml(paths: Paths) -> dict:
    """The parsed config file through a JSON cache keyed by path, mtime and size."""
    path = paths.config_file
    try:
        info = oslite.stat(path)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    key = [path, info.st_mtime_ns, info.st_size]
    cache_path = oslite.join(paths.state_dir, CONFIG_CACHE_FILE)
    from ccprompt.core import fastjson, files, statedir

    try:
        cached = fastjson.loads(statedir.read_state(paths.state_dir, cache_path, 1 << 20))
        if cached.get("key") == key and isinstance(cached.get("config"), dict):
            return cached["config"]
    except (OSError, ValueError, AttributeError):
        pass
    parsed = _parse_toml(path)
    if files.unsafe_dir(paths.state_dir) is None:
        try:
            import json

            files.private_dir(paths.state_dir)
            files.atomic_write(cache_path, files.encode(json.dumps({"key": key, "config": parsed})))
        except (OSError, TypeError, ValueError):
            pass  # a value JSON cannot hold (a TOML date) just means no cache
    return parsed


def _parse_toml(path: str) -> dict:
    from ccprompt.core import files

    try:
        raw = files.read_regular(path, 1 << 20)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(raw.decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
