"""Connection phases of new upstream connections, timed inside aiohttp's connector."""

from __future__ import annotations

import contextvars
import time

import aiohttp

# The attempt whose request is being sent; the connector runs in the handler's own task.
current_attempt: contextvars.ContextVar = contextvars.ContextVar("ccprompt_proxy_attempt", default=None)


class TimedConnector(aiohttp.TCPConnector):
    """Times DNS and connection set-up (TCP + TLS, or the proxy tunnel) when a new connection is made.

    Cheaper than aiohttp's client tracing, which costs every request a round of signal
    dispatches even when the pooled connection is simply reused.
    """

    async def _create_connection(self, *args, **kwargs):
        attempt = current_attempt.get()
        started = time.monotonic()
        if attempt is not None:
            attempt.reused = False
            attempt.conn = {"new": True, "dns_ms": None}
        protocol = await super()._create_connection(*args, **kwargs)
        if attempt is not None and attempt.conn is not None:
            dns = attempt.conn.get("dns_ms") or 0.0
            attempt.conn["connect_ms"] = round((time.monotonic() - started) * 1000 - dns, 1)
        return protocol

    async def _resolve_host(self, *args, **kwargs):
        started = time.monotonic()
        try:
            return await super()._resolve_host(*args, **kwargs)
        finally:
            attempt = current_attempt.get()
            if attempt is not None and attempt.conn is not None:
                attempt.conn["dns_ms"] = round((time.monotonic() - started) * 1000, 1)
