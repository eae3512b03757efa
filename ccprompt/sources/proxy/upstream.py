"""Where the proxy forwards to: base URL with its path prefix, CA files, outbound proxy (stdlib only)."""

from __future__ import annotations

import hashlib
import json
import ssl
from urllib.parse import urlsplit

from ccprompt.core import netproxy

# Passed from a supervisor to the server it starts: the outbound proxy URL may carry a
# password, so the spec travels in the environment, never in argv.
ENV_SPEC = "CCPROMPT_PROXY_UPSTREAM"


class Upstream:
    """One upstream API. Holds no credential: the client's own auth headers pass through."""

    __slots__ = ("base_url", "ca_file", "extra_ca", "proxy_url", "no_proxy")

    def __init__(self, base_url: str, ca_file: str | None = None, extra_ca: str | None = None,
                 proxy_url: str | None = None, no_proxy: str | None = None) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the upstream base URL must be http:// or https:// with a host")
        self.base_url = base_url.strip()
        self.ca_file = ca_file or None
        self.extra_ca = extra_ca or None
        self.proxy_url = proxy_url or None
        self.no_proxy = no_proxy or None

    # -- the parts the server needs ------------------------------------------

    @property
    def origin(self) -> str:
        """scheme://host:port, with any user:password dropped."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}"

    @property
    def prefix(self) -> str:
        """The base URL's path without its trailing slash: '' or '/prefix'."""
        return urlsplit(self.base_url).path.rstrip("/")

    @property
    def https(self) -> bool:
        return urlsplit(self.base_url).scheme == "https"

    def target(self, raw_path: str) -> str:
        """The upstream URL for a request path (query included), prefix kept exactly once."""
        if not raw_path.startswith("/"):
            raw_path = "/" + raw_path
        return self.origin + self.prefix + raw_path

    def outbound_proxy(self) -> str | None:
        """The proxy to use for this upstream, or None when NO_PROXY exempts its host."""
        if not self.proxy_url:
            return None
        if netproxy.bypasses(urlsplit(self.base_url).hostname or "", urlsplit(self.base_url).port, self.no_proxy):
            return None
        return self.proxy_url

    def ssl_context(self) -> ssl.SSLContext:
        """Trust the replacement bundle (or the system's), plus the extra certificates if any."""
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.extra_ca:
            try:
                context.load_verify_locations(cafile=self.extra_ca)
            except (OSError, ssl.SSLError):
                pass  # an unreadable extra file adds nothing, as for the probe
        return context

    # -- identity, display, hand-over --------------------------------------------

    def redacted(self) -> str:
        """The base URL without user:password, safe to show or store."""
        return self.origin + self.prefix

    def key(self) -> str:
        """Stable short hash that tells one upstream configuration from another."""
        blob = json.dumps([self.base_url, self.ca_file, self.extra_ca, self.proxy_url, self.no_proxy])
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def to_env(self) -> str:
        return json.dumps({name: getattr(self, name) for name in self.__slots__})

    @classmethod
    def from_env(cls, value: str) -> Upstream:
        data = json.loads(value)
        return cls(**{name: data.get(name) for name in cls.__slots__ if name in data})

    def __repr__(self) -> str:
        return f"Upstream({self.redacted()!r})"


def resolve(paths) -> Upstream:
    """The upstream the probe would use in this environment: base URL (credential chain), CA, proxy.

    Raises ValueError when the base URL is not a usable http(s) URL.
    """
    from ccprompt.sources import credentials
    from ccprompt.sources.probe import ca_settings, proxy_for

    base_url = credentials.resolve(paths).base_url
    proxy_url, no_proxy = proxy_for(base_url, paths.env)
    ca = ca_settings(paths.env)
    return Upstream(base_url, ca_file=ca["bundle"], extra_ca=ca["extra"], proxy_url=proxy_url or None,
                    no_proxy=no_proxy or None)
