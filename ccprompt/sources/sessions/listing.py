"""The recent sessions, each with what the proxy saw of it: the one call every view makes."""

from __future__ import annotations

from ccprompt.core.paths import Paths
from ccprompt.sources.sessions import index, proxyjoin


def pairs(paths: Paths, now_s: float, since_s: float | None = 7200, use_index: bool = True) -> list:
    """(SessionSummary, ProxyView or None) for sessions active within `since_s` (None: all)."""
    newer = None if since_s is None else now_s - since_s
    summaries = index.summaries(paths, newer_than_s=newer, use_index=use_index)
    if newer is not None:
        summaries = [s for s in summaries if (s.last_s or 0) >= newer or s.waiting_since_s]
    views = proxyjoin.read_views(paths)
    return [(summary, views.get(summary.session_id)) for summary in summaries]


def find(paths: Paths, which: str):
    """The summary and transcript path for `last`, a session id, or a prefix of one; None if unknown."""
    every = index.summaries(paths)
    if not every:
        return None
    if which in ("", "last"):
        return every[0]
    matches = [s for s in every if s.session_id == which] or [s for s in every if s.session_id.startswith(which)]
    return matches[0] if len(matches) == 1 else None
