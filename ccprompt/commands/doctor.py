"""`ccprompt doctor`: every link to the API, checked, each with a fix."""

from __future__ import annotations


def doctor(as_json: bool = False) -> int:
    from ccprompt.ops.doctor import report

    return report.main(as_json=as_json)
