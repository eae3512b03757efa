"""`ccprompt refresh`: run the scheduler once (what the status line and the prompt start in the background)."""

from __future__ import annotations

from ccprompt.core.paths import Paths


def refresh(sync: bool = False, session: str | None = None, duration_ms: int | None = None,
            transcript: str | None = None, model: str | None = None) -> int:
    from ccprompt.core.config import Config
    from ccprompt.sources import recorder

    paths = Paths()
    try:
        result = recorder.refresh(paths, Config.load(paths), session_id=session, duration_ms=duration_ms,
                                  transcript_path=transcript, sync=sync, model=model)
    except recorder.UnsafeStateDir as exc:
        from ccprompt.core.errors import CcpromptError

        raise CcpromptError(str(exc)) from None
    if sync:
        print(result.line())
    return 0
