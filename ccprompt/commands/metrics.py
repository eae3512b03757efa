"""`ccprompt metrics`: the Prometheus exposition, printed or written as a textfile."""

from __future__ import annotations

import os
import sys

from ccprompt.core.errors import CcpromptError, UsageError
from ccprompt.core.paths import Paths


def metrics(textfile: str | None = None) -> int:
    from ccprompt.ops import metrics as metrics_mod

    text = metrics_mod.collect(Paths())
    if textfile is None:
        sys.stdout.write(text)
        return 0
    if not os.path.isdir(textfile):
        raise UsageError(f"--textfile: {textfile} is not a directory")
    try:
        metrics_mod.write_textfile(textfile, text)
    except OSError as exc:
        raise CcpromptError(f"cannot write {os.path.join(textfile, metrics_mod.TEXTFILE)}: {exc.strerror}") from None
    return 0
