"""The state directory's files: the monitoring state, the prompt cache and the history.

Readers never lock and never fail: an unreadable, corrupt or foreign state reads as
None, and so does any file in a state directory another user could write to. Writers hold the probe lock (see `sources.recorder`) and replace files atomically.
"""


from ccprompt.core import fastjson, files, oslite, statedir
from ccprompt.core.model import MonitorState
from ccprompt.core.paths import Paths

STATE_LIMIT_BYTES = 1 << 20
HISTORY_LIMIT_BYTES = 512 * 1024


def read_state(paths: Paths) -> MonitorState | None:
    """The state, or None when it is missing, unreadable, corrupt or foreign."""
    try:
        raw = statedir.read_state(paths.state_dir, paths.state_file, STATE_LIMIT_BYTES)
        return MonitorState.from_json(fastjson.loads(raw))
    except (OSError, ValueError, RecursionError):
        return None


def read_state_for(paths: Paths, endpoint: str) -> MonitorState | None:
    """The state of one endpoint: the newest file when it is that endpoint's, else its own file.

    A session never sees another endpoint's weather: with nothing recorded for its own
    endpoint yet, it gets None (and a first probe).
    """
    newest = read_state(paths)
    if newest is not None and newest.endpoint == endpoint:
        return newest
    try:
        raw = statedir.read_state(paths.state_dir, paths.endpoint_state_file(endpoint), STATE_LIMIT_BYTES)
        state = MonitorState.from_json(fastjson.loads(raw))
    except (OSError, ValueError, RecursionError):
        return None
    return state if state is not None and state.endpoint == endpoint else None


def write_state(paths: Paths, state: MonitorState) -> None:
    """Persist the state as the newest, and as its endpoint's; then the prompt cache the shells read."""
    import json

    files.private_dir(paths.state_dir)
    # Compact: the C encoder (an indent means the pure-Python one, several times slower).
    data = files.encode(json.dumps(state.to_json(), separators=(",", ":"), ensure_ascii=False))
    if state.endpoint:
        target = paths.endpoint_state_file(state.endpoint)
        files.private_dir(oslite.dirname(target))
        files.atomic_write(target, data)
    files.atomic_write(paths.state_file, data)
    write_prompt_cache(paths, state)
    files.sweep_temps(paths.state_dir)


def write_prompt_cache(paths: Paths, state: MonitorState | None, config=None) -> None:
    """The cache the shells read, with when the scheduler will next find a probe due."""
    import time

    from ccprompt.core import promptcache, schedule
    from ccprompt.core.config import Config

    now_ms = int(time.time() * 1000)
    due = schedule.next_due_ms(now_ms, state, config or Config.load(paths))
    if due is not None and due <= now_ms:
        due = now_ms - now_ms % 1000  # due now: this very second, not the next one
    files.private_dir(paths.state_dir)
    files.atomic_write(paths.prompt_file, files.encode(promptcache.render(state, due)))


def read_prompt_cache(paths: Paths) -> dict | None:
    from ccprompt.core import promptcache

    try:
        raw = statedir.read_state(paths.state_dir, paths.prompt_file, 4096)
    except OSError:
        return None
    return promptcache.parse(raw.decode("utf-8", "replace"))


def append_history(paths: Paths, record: dict, limit_bytes: int = HISTORY_LIMIT_BYTES) -> None:
    """Append one outcome to history.jsonl, rotating it to history.jsonl.1 at the limit."""
    files.append_jsonl(paths.history_file, record, limit_bytes)


def read_history(paths: Paths) -> list:
    """Every parseable history record, oldest first (the rotated file, then the current one)."""
    records = []
    for path in (paths.history_file + ".1", paths.history_file):
        try:
            raw = statedir.read_state(paths.state_dir, path, 4 * HISTORY_LIMIT_BYTES)
        except OSError:
            continue
        for line in raw.split(b"\n"):
            if not line.strip():
                continue
            try:
                record = fastjson.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records
