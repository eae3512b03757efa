"""Credential resolver: finds the API credential and base URL the way Claude Code would.

Sources, in order: the environment, `export` lines in shell rc files (parsed, never
executed), then the `env` object of Claude Code's settings.json (`$CLAUDE_CONFIG_DIR`
honoured, through `core.paths`). Only the *source* and the token's length are ever
reported; the secret itself stays inside this object.
"""

from __future__ import annotations

import os

from ccprompt.core.paths import Paths
from ccprompt.core.text import normalise_base_url

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

    __slots__ = ("kind", "variable", "source", "_secret", "base_url", "base_url_source", "problem")

    def __init__(self, kind, variable, source, secret, base_url, base_url_source):
        self.kind = kind
        self.variable = variable
        self.source = source
        self._secret = secret
        self.base_url, url_problem = normalise_base_url(base_url)
        self.base_url_source = base_url_source
        self.problem = secret_problem(variable, secret, source) or url_problem

    @property
    def present(self) -> bool:
        return bool(self._secret)

    @property
    def token_length(self) -> int:
        return len(self._secret or "")

    def auth_headers(self) -> list[str]:
        """The headers that carry this credential, as libcurl wants them (none for a refused one)."""
        if not self._secret or self.problem:
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

    def secrets(self) -> list:
        """What must never be shown: the token, for redacting error text."""
        return [self._secret] if self._secret else []

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
    from ccprompt.core import files

    values = {}
    for name in RC_FILES:
        try:
            exports = parse_rc_exports(files.read_regular(os.path.join(home, name), 1 << 20)
                                       .decode("utf-8", "replace"))
        except OSError:
            continue
        for key, value in exports.items():
            values.setdefault(key, value)  # the first file in RC_FILES that sets it wins
    return values


def _settings_values(path: str) -> dict:
    from ccprompt.core import fastjson, files

    try:
        settings = fastjson.loads(files.read_regular(path, 1 << 20))
    except (OSError, ValueError, RecursionError):
        return {}
    env = settings.get("env") if isinstance(settings, dict) else None
    if not isinstance(env, dict):
        return {}
    return {k: v for k, v in env.items() if k in WANTED and isinstance(v, str) and v}


def resolve(paths: Paths | None = None) -> Credential:
    """Find the credential and base URL: environment, then shell rc files, then settings.

    Inside Claude Code (CLAUDECODE=1) the environment already holds its settings' `env`, and
    its ANTHROPIC_BASE_URL, or the default without one, is the URL Claude Code itself uses:
    an rc file's URL is not looked for there.
    """
    from ccprompt.core.paths import inside_claude_code

    paths = paths or Paths()
    env = paths.env
    env_only_url = inside_claude_code(env)
    sources = (
        ("environment", lambda: {k: env[k] for k in WANTED if env.get(k)}),
        ("shell", lambda: _rc_values(paths.home)),
        ("claude_settings", lambda: _settings_values(paths.claude_settings)),
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
        if base_url is None and values.get("ANTHROPIC_BASE_URL") and (name == "environment" or not env_only_url):
            base_url, base_source = values["ANTHROPIC_BASE_URL"].strip(), name
        if secret is not None and base_url is not None:
            break
    if base_url is None:
        base_url, base_source = DEFAULT_BASE_URL, "default"
    return Credential(kind, variable, source, secret, base_url, base_source)


def secret_problem(variable, secret, source) -> str | None:
    """Why a token cannot be sent as it is, in one line, or None.

    A line break would smuggle a header into the request; anything outside printable
    ASCII is not a token at all (an NBSP pasted from a web page, say).
    """
    if not secret:
        return None
    where = {"shell": "check your shell rc", "claude_settings": "check Claude Code's settings.json"}.get(
        source, "check where it is set")
    if "\r" in secret or "\n" in secret:
        return f"{variable} contains a line break; {where}"
    if not all(0x21 <= ord(ch) <= 0x7E for ch in secret):
        return f"{variable} contains a space, control or non-ASCII character; {where}"
    return None


def endpoint(paths: Paths) -> str:
    """The endpoint the probe would use here, redacted: the key to this environment's state."""
    from ccprompt.core.text import redact_url

    return redact_url(resolve(paths).endpoint)
