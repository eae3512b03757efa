"""What the checks share: the environment, the budget, and facts each computed once and never changed.

The config, the credential, the target and the traced network path are worked out the
first time a check asks for them. A check that needs a fact whose computation raises is
the check that crashes, under its own id.
"""

from __future__ import annotations

import os
from functools import cached_property

from ccprompt.core.paths import Paths
from ccprompt.ops.doctor.registry import BUDGET_S, Deadline


class Context:
    def __init__(self, env=None, deadline: Deadline | None = None):
        self.env = os.environ if env is None else env
        self.paths = Paths(self.env)
        self.deadline = deadline if deadline is not None else Deadline(BUDGET_S)

    @cached_property
    def config(self):
        from ccprompt.core.config import Config

        return Config.load(self.paths)

    @cached_property
    def credential(self):
        from ccprompt.sources import credentials

        return credentials.resolve(self.paths)

    @cached_property
    def login(self):
        """How Claude Code signs in (a subscription, an apiKeyHelper), found without reading a secret."""
        from ccprompt.sources import login

        return login.detect(self.paths)

    @cached_property
    def _target(self):
        from ccprompt.ops.doctor import netpath

        return netpath.resolve_target(self.credential.base_url, self.env)

    @property
    def target(self):
        """The API host and the proxy in effect, or None when the base URL is unusable."""
        return self._target[0]

    @property
    def target_problem(self) -> str:
        """"invalid" or "not-http" when there is no target."""
        return self._target[1]

    @cached_property
    def path(self):
        """The traced network path (DNS, TCP, TLS, Date), or None without a usable base URL."""
        from ccprompt.ops.doctor import netpath

        target = self.target
        return netpath.trace(target, self.env, self.deadline) if target is not None else None

    def secrets(self) -> list:
        """Everything that must never be printed: the credential and any URL passwords."""
        from ccprompt.sources.probe import proxy_for

        found: list = []
        try:
            found += self.credential.secrets() + url_secrets(self.credential.base_url)
        except Exception:  # a broken credential lookup already fails its own check
            pass
        proxy, _ = proxy_for("", self.env)
        return found + url_secrets(proxy)


def url_secrets(url) -> list:
    """The userinfo of a URL, whole and in parts, raw and percent-decoded."""
    from urllib.parse import unquote

    authority = str(url or "").partition("://")[2].partition("/")[0]
    if "@" not in authority:
        return []
    userinfo = authority.rsplit("@", 1)[0]
    parts = [userinfo, *userinfo.split(":", 1)]
    return [p for part in parts if part for p in (part, unquote(part))]
