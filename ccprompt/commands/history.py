"""`ccprompt history`: recent probes at a glance."""

from __future__ import annotations

from ccprompt.core.errors import UsageError
from ccprompt.core.paths import Paths


def history(since: str = "1h", as_json: bool = False, limit: int = 50, all_endpoints: bool = False) -> int:
    from ccprompt.ops import history as history_mod
    from ccprompt.sources import credentials

    try:
        since_s = history_mod.parse_since(since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    paths = Paths()
    endpoint = None if all_endpoints else credentials.endpoint(paths)
    print(history_mod.report(paths, since_s, limit=limit, as_json=as_json, endpoint=endpoint))
    return 0
