"""`ccprompt history`: recent probes at a glance."""

from __future__ import annotations

from ccprompt.core.errors import UsageError
from ccprompt.core.paths import Paths


def history(since: str = "1h", as_json: bool = False, limit: int = 50) -> int:
    from ccprompt.ops import history as history_mod

    try:
        since_s = history_mod.parse_since(since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    print(history_mod.report(Paths(), since_s, limit=limit, as_json=as_json))
    return 0
