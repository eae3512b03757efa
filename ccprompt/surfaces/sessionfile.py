"""Keep the session file (`core.promptsession`) up to date from the status line.

Called on every redraw, it costs a `stat` of the transcript and a 4 KB read when nothing
changed; the transcript's tail is summarised and the file replaced only after a turn.
The status line calls it only once a shell hook exists to read the file (`ccprompt init`
has run: its cache directory is there). It never raises.
"""

from ccprompt.core import files, oslite, promptsession, statedir


def update(paths, transcript_path: str, size, tail_kb: int, percent=None) -> bool:
    """Rewrite the file when the transcript changed; True when it was written.

    `size` and `percent` are the context window and its use as Claude Code reports them.
    """
    try:
        key = promptsession.stamp(oslite.stat(transcript_path), size)
        target = paths.prompt_session_file
        try:
            old = statedir.read_state(paths.state_dir, target, 4096).split(b"\n", 2)
        except OSError:
            old = []
        if len(old) > 1 and old[0] == promptsession.MAGIC.encode() and old[1] == key.encode():
            return False
        from ccprompt.sources.sessions.index import summary_of

        text = promptsession.render(summary_of(transcript_path, tail_kb), key, size, percent)
        files.atomic_write(target, files.encode(text))
        return True
    except (OSError, ValueError, TypeError):
        return False
