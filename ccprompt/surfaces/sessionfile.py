"""Keep the session file (`core.promptsession`) up to date from the status line.

Called on every redraw, it costs a `stat` of the transcript and a 4 KB read when nothing
changed; the file is replaced, from the transcript reader's summary, only after a turn.
The status line calls it only once a shell hook exists to read the file (`ccprompt init`
has run: its cache directory is there). It never raises.
"""

from ccprompt.core import files, oslite, promptsession, statedir


def update(paths, transcript_path: str, size, summary=None, percent=None, payload=None) -> bool:
    """Rewrite the file when the transcript changed; True when it was written.

    `summary` is the transcript reader's `Reading` (read now when not given); `size` and
    `percent` are the context window and its use as Claude Code reports them. The prompt
    cache's expiry is taken from the `payload`'s `prompt_cache` where there is one, not re-derived.
    """
    try:
        cache_expiry = None
        if isinstance(payload, dict) and "prompt_cache" in payload:
            import time

            from ccprompt.surfaces.payload_segments import shell_cache_expiry

            cache_expiry = shell_cache_expiry(payload, time.time())
        # The stamp of what was read, not of the file now: a line appended between the reading and
        # a later `stat` would otherwise key an older reading as current until the next turn.
        info = getattr(summary, "info", None) or oslite.stat(transcript_path)
        key = promptsession.stamp(info, size)
        if cache_expiry is not None:
            key += f":{cache_expiry}"
        target = paths.prompt_session_file
        try:
            old = statedir.read_state(paths.state_dir, target, 4096).split(b"\n", 2)
        except OSError:
            old = []
        if len(old) > 1 and old[0] == promptsession.MAGIC.encode() and old[1] == key.encode():
            return False
        if summary is None or isinstance(summary, int):  # (an old caller's tail size)
            from ccprompt.sources import transcript

            summary = transcript.read(transcript_path)
            if summary is None:
                return False
        text = promptsession.render(summary.summary(), key, size, percent, cache_expiry)
        files.atomic_write(target, files.encode(text))
        return True
    except (OSError, ValueError, TypeError):
        return False
