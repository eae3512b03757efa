"""`ccprompt config` and `ccprompt config check`: the effective configuration, and its validation."""

from __future__ import annotations

import os
import sys


def _shown(value) -> str:
    """A value as it would be written in config.toml."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "(unset)"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def config_show(as_json: bool = False) -> int:
    """Every key's value and source (default, the file, or $VARIABLE); problems and unknown keys after."""
    from ccprompt.core.config import KEYS, Config
    from ccprompt.core.paths import Paths

    paths = Paths()
    config = Config.load(paths)
    exists = os.path.isfile(paths.config_file)
    if as_json:
        import json

        record = {"file": paths.config_file, "file_exists": exists,
                  "values": {k.name: {"value": config[k.name], "source": config.sources[k.name]} for k in KEYS},
                  "problems": [p.line() for p in config.problems], "unknown": list(config.unknown)}
        sys.stdout.write(json.dumps(record, indent=2) + "\n")
        return 0
    note = "" if exists else " (not there: every value is a default)"
    out = [f"config file: {paths.config_file}{note}", ""]
    rows = [(k.name, _shown(config[k.name]), _source(config.sources[k.name], paths.config_file)) for k in KEYS]
    name_w = max(len(r[0]) for r in rows)
    value_w = min(max(len(r[1]) for r in rows), 40)
    out += [f"{name:<{name_w}}  {value:<{value_w}}  {source}".rstrip() for name, value, source in rows]
    for line in _findings(config):
        out.append(line)
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def _source(source: str, path: str) -> str:
    return "file" if source == path else source


def _findings(config) -> list:
    lines = []
    if config.problems or config.unknown:
        lines.append("")
    lines += [f"✗ {p.line()} (the default is used)" for p in config.problems]
    lines += [f"! {line}" for line in config.warnings()]
    return lines


def config_check() -> int:
    """0 when the file and the environment give valid values and no unknown key; 2 otherwise."""
    from ccprompt.core.config import Config
    from ccprompt.core.paths import Paths

    paths = Paths()
    config = Config.load(paths)
    findings = _findings(config)[1:] if (config.problems or config.unknown) else []
    if not findings:
        where = paths.config_file if os.path.isfile(paths.config_file) else f"{paths.config_file} (absent: defaults)"
        sys.stdout.write(f"✓ {where}: valid\n")
        return 0
    sys.stdout.write("\n".join(findings) + "\n")
    return 2
