"""`ccprompt metrics`: the probe state, the history and the sessions as Prometheus text.

Printed, written as a node_exporter textfile, or served over HTTP with `--serve`.
"""

from __future__ import annotations

import os
import sys

from ccprompt.core.errors import CcpromptError, UsageError
from ccprompt.core.paths import Paths


def metrics(textfile: str | None = None, serve: str | None = None, by_session: bool = False) -> int:
    from ccprompt.ops import fleet

    if serve is not None:
        if textfile is not None:
            raise UsageError("--serve and --textfile do not go together")
        from ccprompt.ops import metrics_serve

        try:
            host, port = metrics_serve.parse_addr(serve)
        except ValueError as exc:
            raise UsageError(f"--serve: {exc}") from None
        return metrics_serve.serve(Paths(), host, port, by_session=by_session)
    text = fleet.exposition(Paths(), by_session)
    if textfile is None:
        sys.stdout.write(text)
        return 0
    from ccprompt.ops import metrics as metrics_mod

    if not os.path.isdir(textfile):
        raise UsageError(f"--textfile: {textfile} is not a directory")
    try:
        metrics_mod.write_textfile(textfile, text)
    except OSError as exc:
        raise CcpromptError(f"cannot write {os.path.join(textfile, metrics_mod.TEXTFILE)}: {exc.strerror}") from None
    return 0
