"""Credential resolver: finds the API credential and base URL the way Claude Code would.

Sources, in order: the environment, `export` lines in shell rc files (parsed, never
executed), then the `env` object of ~/.claude/settings.json. Only the *source* and the
token's length are ever reported; the secret itself stays inside this object.
"""

from __future__ import annotations

import os

DEFAULT_BASE_URL = "https://api.anthropic.com"
OAUTH_BETA = "oauth-2025-04-20"

# Most specific first: an explicit API key wins over a bearer token.
CREDENTIAL_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")
KIND_BY_VAR = {
    "ANTHROPIC_API_KEY": "api_key",
    "ANTHROPIC_AUTH_TOKEN": "auth_token",
    "CLAUDE_CODE_OAUTH_TOKEN": "oauth_token",
}
RC_FILES = (".zshrc", ".zprofile", ".bashrc", ".bash_profile", ".profile")
WANTED = CREDENTIAL_VARS + ("ANTHROPIC_BASE_URL",)


class Credential:
    """The resolved credential. `repr` and `str` never show the secret."""

    __slots__ = ("kind", "variable", "source", "_secret", "base_url", "base_url_source")

    def __init__(self, kind, variable, source, secret, base_url, base_url_source):
        self.kind = kind
        self.variable = variable
        self.source = source
        self._secret = secret
        self.base_url = base_url
        self.base_url_source = base_url_source

    @property
    def present(self) -> bool:
        return bool(self._secret)

    @property
    def token_length(self) -> int:
        return len(self._secret or "")

    def auth_headers(self) -> list[str]:
        """The headers that carry this credential, as libcurl wants them."""
        if not self._secret:
            return []
        if self.kind == "api_key":
            return [f"x-api-key: {self._secret}"]
        headers = [f"Authorization: Bearer {self._secret}"]
        if self.kind == "oauth_token":
            headers.append(f"anthropic-beta: {OAUTH_BETA}")
        return headers

    @property
    def endpoint(self) -> str:
        return self.base_url.rstrip("/") + "/v1/messages"

    def describe(self) -> dict:
        return {
            "source": self.source,
            "kind": self.kind,
            "variable": self.variable,
            "token_length": self.token_length,
            "base_url": self.base_url,
            "base_url_source": self.base_url_source,
        }

    def __repr__(self) -> str:
        return f"Credential(kind={self.kind!r}, source={self.source!r}, length={self.token_length})"

    __str__ = __repr__


def _unquote(raw: str):
    """The literal value of a shell word, or None when only a shell could know it."""
    raw = raw.strip()
    if not raw:
        return ""
    if raw[0] == "'":
        end = raw.find("'", 1)
        return raw[1:end] if end > 0 else None
    if raw[0] == '"':
        end = raw.find('"', 1)
        if end < 0:
            return None
        value = raw[1:end]
        # Expansions and escapes need a shell to evaluate; refuse rather than guess.
        return None if any(c in value for c in "$`\\") else value
    word = raw.split("#", 1)[0].split(";", 1)[0].strip()
    word = word.split()[0] if word.split() else ""
    return None if any(c in word for c in "$`\\\"'(){}") else word


def parse_rc_exports(text: str) -> dict:
    """`export NAME=value` assignments of the variables ccprompt cares about.

    Later lines win, as they would when the shell runs the file.
    """
    found = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("export "):
            continue
        assignment = stripped[len("export "):].strip()
        name, sep, value = assignment.partition("=")
        name = name.strip()
        if not sep or name not in WANTED:
            continue
        literal = _unquote(value)
        if literal:
            found[name] = literal
        else:
            found.pop(name, None)  # a later value only a shell could compute hides earlier ones
    return found


def _rc_values(home: str) -> dict:
    values = {}
    for name in RC_FILES:
        try:
            with open(os.path.join(home, name), encoding="utf-8", errors="replace") as handle:
                exports = parse_rc_exports(handle.read(1 << 20))
        except OSError:
            continue
        for key, value in exports.items():
            values.setdefault(key, value)  # the first file in RC_FILES that sets it wins
    return values


def _settings_values(home: str) -> dict:
    from ccprompt import fastjson

    try:
        with open(os.path.join(home, ".claude", "settings.json"), "rb") as handle:
            settings = fastjson.loads(handle.read(1 << 20))
    except (OSError, ValueError):
        return {}
    env = settings.get("env") if isinstance(settings, dict) else None
    if not isinstance(env, dict):
        return {}
    return {k: v for k, v in env.items() if k in WANTED and isinstance(v, str) and v}


def resolve(env=None, home: str | None = None) -> Credential:
    """Find the credential and base URL: environment, then shell rc files, then settings."""
    env = os.environ if env is None else env
    home = home or env.get("HOME") or os.path.expanduser("~")
    sources = (
        ("environment", lambda: {k: env[k] for k in WANTED if env.get(k)}),
        ("shell", lambda: _rc_values(home)),
        ("claude_settings", lambda: _settings_values(home)),
    )
    kind = variable = secret = None
    source = "none"
    base_url = base_source = None
    for name, load in sources:
        values = load()
        if secret is None:
            for var in CREDENTIAL_VARS:
                if values.get(var):
                    kind, variable, secret, source = KIND_BY_VAR[var], var, values[var], name
                    break
        if base_url is None and values.get("ANTHROPIC_BASE_URL"):
            base_url, base_source = values["ANTHROPIC_BASE_URL"].strip(), name
        if secret is not None and base_url is not None:
            break
    if base_url is None:
        base_url, base_source = DEFAULT_BASE_URL, "default"
    return Credential(kind, variable, source, secret, base_url, base_source)
