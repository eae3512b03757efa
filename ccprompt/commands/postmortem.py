"""`ccprompt postmortem`: what happened in one session, as a redacted markdown report."""

from __future__ import annotations

import sys

from ccprompt.core.errors import CcpromptError
from ccprompt.core.paths import Paths


def postmortem(session: str = "last", as_json: bool = False) -> int:
    from ccprompt.ops import postmortem as report
    from ccprompt.sources.sessions import listing

    paths = Paths()
    summary = listing.find(paths, session or "last")
    if summary is None:
        raise CcpromptError(f"no session matches {session!r} (see `ccprompt sessions --all`)")
    document = report.build(paths, summary.path)
    if as_json:
        from ccprompt.core.text import dumps_json

        sys.stdout.write(dumps_json(document) + "\n")
    else:
        from ccprompt.core.text import printable

        sys.stdout.write(printable(report.markdown(document)))
    return 0
