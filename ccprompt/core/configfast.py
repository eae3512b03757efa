"""The checked configuration for the status line, without loading the configuration's rules.

`core.config` holds every key's type, range and default, and checks each value: loading
that module and running its checks costs a status-line render as much as the render's own
work. The result depends only on the config file (its path, mtime and size, as the parsed
TOML cache already says), the environment variables the keys read, and the rules
themselves (config.py's own mtime and size). So the values, once checked, are kept in
`config.values.json` in the state directory with those inputs, and a render whose inputs
are the same reads them back instead. Any difference (an edited file, a changed variable,
an upgraded ccprompt) loads the rules as before and keeps the new result.

The file is read only from a safe state directory, like every cache (`core.statedir`).
"""

from ccprompt.core import fastjson, oslite, statedir

VALUES_FILE = "config.values.json"
VERSION = 1


class Values:
    """What the status line asks of a `Config`: values by name, and the problems found."""

    __slots__ = ("values", "problem_lines", "path")

    def __init__(self, values: dict, problem_lines: list, path: str):
        self.values, self.problem_lines, self.path = values, problem_lines, path

    def __getitem__(self, name: str):
        return self.values[name]

    def get(self, name: str, default=None):
        return self.values.get(name, default)

    @property
    def problems(self) -> list:
        return self.problem_lines

    def first_problem(self):
        return self.problem_lines[0] if self.problem_lines else None

    @property
    def timeout_ms(self):
        from ccprompt.core.config import TIMEOUT_CAP_MS

        value = self.values["timeout_ms"]
        return None if value is None else min(value, TIMEOUT_CAP_MS)


def _inputs(paths) -> list:
    """The config file's and the rules' (path, mtime_ns, size); None for a file that is not there."""
    out = []
    for path in (paths.config_file, oslite.join(oslite.dirname(__file__), "config.py")):
        try:
            info = oslite.stat(path)
            out.append([path, info.st_mtime_ns, info.st_size])
        except OSError:
            out.append([path, None, None])
    return out


def load(paths):
    """The checked configuration: from `config.values.json` when its inputs still hold, else `Config.load`."""
    inputs = _inputs(paths)
    target = paths.in_state(VALUES_FILE)
    try:
        kept = fastjson.loads(statedir.read_state(paths.state_dir, target, 1 << 20))
        if (kept.get("v") == VERSION and kept.get("inputs") == inputs and isinstance(kept.get("values"), dict)
                and isinstance(kept.get("env"), dict)
                and all(_kept(paths.env.get(name)) == value for name, value in kept["env"].items())):
            return Values(kept["values"], list(kept.get("problems") or []), paths.config_file)
    except (OSError, ValueError, AttributeError, RecursionError):
        pass
    from ccprompt.core.config import KEYS, Config

    config = Config.load(paths)
    env = {key.env: _kept(paths.env.get(key.env)) for key in KEYS if key.env}
    _keep(paths, target, {"v": VERSION, "inputs": inputs, "env": env, "values": config.values,
                          "problems": [problem.line() for problem in config.problems]})
    return config


def _kept(value):
    """A variable's value as the cache keeps it: a URL's user and password never reach the file."""
    if not value or "@" not in value:
        return value
    from ccprompt.core.text import redact_url

    return redact_url(value)


def _keep(paths, target: str, document: dict) -> None:
    from ccprompt.core import files

    try:
        if files.unsafe_dir(paths.state_dir):
            return
        files.private_dir(paths.state_dir)
        files.atomic_write(target, files.encode(fastjson.dumps(document)), durable=False)
    except (OSError, TypeError, ValueError):
        pass  # a value the cache cannot hold just means no cache
