"""Where ccprompt keeps its files, and the user's settings merged with the environment."""

from __future__ import annotations

import os

DEFAULTS = {
    "probe_model": "claude-haiku-4-5",
    "anonymous": True,
    "monitoring_enabled": True,
    "timeout_ms": None,
    "green_interval_s": 300,
    "red_interval_s": 10,
    "red_recent_s": 600,
    "cold_window_ms": 5000,
    "cold_quiet_s": 30,
    "degraded_factor": 1.25,
    "error_factor": 2.0,
    "jsonl_tail_kb": 64,
    "sync": False,
    "debug": False,
    "statusline": {
        "segments": ["model", "directory", "git", "context", "cost", "network"],
        "style": "full",
        "separator": " | ",
        "format": "",
    },
    "prompt": {
        "refresh_interval_s": 300,
    },
}

TIMEOUT_CAP_MS = 6000


def home_dir(env=None) -> str:
    """The state directory: $CCPROMPT_HOME, else ~/.claude/ccprompt."""
    env = os.environ if env is None else env
    configured = env.get("CCPROMPT_HOME")
    if configured:
        return os.path.abspath(os.path.expanduser(configured))
    return os.path.join(os.path.expanduser("~"), ".claude", "ccprompt")


def ensure_home(env=None) -> str:
    """Create the state directory with mode 0700 if needed and return its path."""
    path = home_dir(env)
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def config_path(env=None) -> str:
    env = os.environ if env is None else env
    if env.get("CCPROMPT_CONFIG"):
        return os.path.expanduser(env["CCPROMPT_CONFIG"])
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "ccprompt", "config.toml")


class ConfigError(Exception):
    """The config file exists but cannot be used."""


CACHE_FILE = "config.cache.json"


def _read_toml(path: str, env) -> dict:
    """The parsed config file, through a JSON cache keyed by path, mtime and size.

    tomllib imports `re` and friends, which would double the status line's start-up; the
    cache is decoded by the hot path's own JSON scanner instead.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    key = [path, info.st_mtime_ns, info.st_size]
    cache_path = os.path.join(home_dir(env), CACHE_FILE)
    from ccprompt import fastjson

    try:
        with open(cache_path, "rb") as handle:
            cached = fastjson.loads(handle.read())
        if cached.get("key") == key and isinstance(cached.get("config"), dict):
            return cached["config"]
    except (OSError, ValueError, AttributeError):
        pass
    parsed = _parse_toml(path)
    try:
        import json

        from ccprompt.state import atomic_write

        os.makedirs(home_dir(env), mode=0o700, exist_ok=True)
        atomic_write(cache_path, json.dumps({"key": key, "config": parsed}).encode())
    except (OSError, TypeError, ValueError):
        pass  # a value JSON cannot hold (a TOML date) just means no cache
    return parsed


def _parse_toml(path: str) -> dict:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(raw.decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _env_int(env, name: str):
    value = env.get(name)
    if value is None or not value.strip():
        return None
    try:
        return int(float(value))
    except ValueError:
        raise ConfigError(f"{name} must be a number of milliseconds, got {value!r}") from None


def load(env=None, strict: bool = False) -> dict:
    """Defaults, then config.toml, then environment variables.

    With strict=False a broken config file is ignored, because a render must never fail
    on it; commands that report problems pass strict=True.
    """
    env = os.environ if env is None else env
    try:
        user = _read_toml(config_path(env), env)
    except ConfigError:
        if strict:
            raise
        user = {}
    config = _merge(DEFAULTS, user)
    try:
        timeout = _env_int(env, "CCPROMPT_TIMEOUT_MS")
        tail = _env_int(env, "CCPROMPT_JSONL_TAIL_KB")
        cold = _env_int(env, "CCPROMPT_COLD_WINDOW_MS")
    except ConfigError:
        if strict:
            raise
        timeout = tail = cold = None
    if timeout is not None:
        config["timeout_ms"] = timeout
    if tail is not None:
        config["jsonl_tail_kb"] = tail
    if cold is not None:
        config["cold_window_ms"] = cold
    if env.get("CCPROMPT_PROBE_MODEL"):
        config["probe_model"] = env["CCPROMPT_PROBE_MODEL"]
    if env.get("CCPROMPT_DEBUG"):
        config["debug"] = _truthy(env["CCPROMPT_DEBUG"])
    if config.get("timeout_ms") is not None:
        config["timeout_ms"] = max(1, min(int(config["timeout_ms"]), TIMEOUT_CAP_MS))
    config["jsonl_tail_kb"] = max(1, min(int(config["jsonl_tail_kb"]), 4096))
    return config
