"""What every command needs first: a checked config, and whether to colour."""

from __future__ import annotations

import sys

from ccprompt.core.config import Config
from ccprompt.core.paths import Paths


def checked_config(paths: Paths) -> Config:
    """The config, or ConfigError (exit 2) naming the first bad key; unknown keys are warned about."""
    config = Config.load(paths)
    config.raise_for_problems()
    for line in config.warnings():
        sys.stderr.write(f"ccprompt: warning: {line}\n")
    return config


def color_for(stream, env) -> bool:
    from ccprompt.core.render import use_color

    return use_color(env) and stream.isatty()
