"""ccprompt: Claude API health where a Claude Code user already looks."""

__version__ = "0.1.0"
