"""The one error type: raised anywhere, caught once in `entry`, shown as one line.

Defined in `ccprompt.core` itself (no extra import on the hot path) and named here too.
"""

from __future__ import annotations

from ccprompt.core import CcpromptError, UsageError

__all__ = ["CcpromptError", "UsageError"]
