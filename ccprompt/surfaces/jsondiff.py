"""The changes between two JSON objects, and making them again on a third.

When another editor wrote on top of a file ccprompt had on show for a moment, their changes
are taken from their file (against ccprompt's) and made again on the newest content, so no
one's edit is lost (see `jsonfile._swap_in`). Objects are compared key by key, to any depth;
any other value (a list, a string) is replaced whole.
"""

from __future__ import annotations

GONE = object()


def changes(old, new, at=()) -> list:
    """What turned the JSON object `old` into `new`: [(key path, value, or GONE when removed)]."""
    found = []
    for key, value in new.items():
        before = old.get(key, GONE)
        if isinstance(before, dict) and isinstance(value, dict):
            found += changes(before, value, at + (key,))
        elif before is GONE or before != value:
            found.append((at + (key,), value))
    found += [(at + (key,), GONE) for key in old if key not in new]
    return found


def make_again(settings: dict, changes: list) -> bool:
    """Apply `changes` to `settings`; True when it changed anything."""
    changed = False
    for path, value in changes:
        where = settings
        for key in path[:-1]:
            if not isinstance(where.get(key), dict):
                where[key] = {}
            where = where[key]
        if value is GONE:
            changed |= where.pop(path[-1], GONE) is not GONE
        elif where.get(path[-1], GONE) != value:
            where[path[-1]], changed = value, True
    return changed
