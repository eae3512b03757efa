"""`ccprompt refresh`: run the scheduler once (what the status line and the prompt start in the background).

After the probe (if one was due), the public status page is read when its own schedule
says so; that never delays the probe's result, and its failures stay silent.
"""

from __future__ import annotations

from ccprompt.core.paths import Paths


def refresh(sync: bool = False, session: str | None = None, duration_ms: int | None = None,
            transcript: str | None = None, model: str | None = None, not_before_ms: int | None = None) -> int:
    from ccprompt.core.config import Config
    from ccprompt.sources import recorder

    paths = Paths()
    config = Config.load(paths)
    try:
        result = recorder.refresh(paths, config, session_id=session, duration_ms=duration_ms,
                                  transcript_path=transcript, sync=sync, model=model,
                                  not_before_ms=not_before_ms)
    except recorder.UnsafeStateDir as exc:
        from ccprompt.core.errors import CcpromptError

        raise CcpromptError(str(exc)) from None
    page = check_status_page(paths, config)
    if sync:
        print(result.line())
        print(page)
    return 0


def check_status_page(paths: Paths, config) -> str:
    """Read the status page if due, judged against the line's newest colour. Never raises."""
    from ccprompt.core import store
    from ccprompt.sources import statuspage

    try:
        state = store.read_state(paths)
        return statuspage.check(paths, config, state.status if state is not None else None)
    except Exception as exc:  # the page is a courtesy: nothing about it may break a refresh
        from ccprompt.core.text import sanitize

        return f"status page not checked: {sanitize(type(exc).__name__, 40)}"
