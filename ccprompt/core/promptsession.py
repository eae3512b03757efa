"""The session file: one Claude Code session's signals, pre-computed for shell prompts.

The prompt cache (`core.promptcache`) carries the network's health; this file carries the
`cache`, `context` and `session` segments of the session whose status line drew last, so
the bash, zsh and fish hooks can export `CCPROMPT_CACHE`, `CCPROMPT_CONTEXT` and
`CCPROMPT_SESSION` with builtins alone. The status line writes it, and only when the
transcript has changed since the last write (a turn, not a redraw); the hooks count the
cache TTL and the wait down from the epochs in it, with the shell's own clock.

Format v1 (a change of layout gets a new version word on line 1). UTF-8, seven lines,
one value per line, each ending in a newline:

    1  ccprompt-session v1
    2  the transcript's stamp (inode:size:mtime_ns:window), to know when to write again
    3  epoch seconds of the session's last transcript entry
    4  epoch seconds at which the prompt cache expires, or empty when none was used
    5  the context segment as the status line shows it (`ctx 87% · ~2 turns to compact`)
    6  epoch seconds since which a turn waits on the API, or empty
    7  the API error that ended the last turn (`API 529 overloaded_error`), or empty

A session whose last entry is older than FRESH_S sets none of the variables: its cache is
long gone and its numbers are no longer news. A wait of `session_rules.STALL_AFTER_S` or more
reads `stalled`. Values are sanitized and kept to the shell-safe alphabet (`text.shell_safe`:
no backtick, `$`, `\\`, `!`, quotes or controls, `%` only as a number's unit) like the prompt
cache's, so a value pasted into a prompt never runs or renders; the file is 0600.

The status line checks the stamp on every redraw, so importing this module costs next to
nothing: the rules load only to write the file or to read it back.
"""

from ccprompt.core.text import fmt_s, shell_safe

MAGIC = "ccprompt-session v1"
LINES = 7
FRESH_S = 3600
# The hooks read the file again at most this often: it changes once a turn, and reading it
# costs a prompt more than everything else the hook does.
REREAD_S = 5


def stamp(st, size=None) -> str:
    """The key a transcript's `os.stat` result (and the window the status line was given) makes."""
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{size if isinstance(size, int) else ''}"


def _epoch(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value <= 0:
        return ""
    return str(int(value))


def render(summary, key: str, size=None, percent=None, cache_expiry=None) -> str:
    """The file's text for one session's summary; `percent` is Claude Code's own context figure, and
    `cache_expiry` its own prompt cache's expiry (epoch s; 0 for none), when given."""
    from ccprompt.core import session_rules as rules

    expiry = None
    if cache_expiry is not None:  # Claude Code's prompt_cache (2.1.332): nothing to re-derive
        expiry = cache_expiry or None
    elif summary.cache_at_s is not None:
        expiry = summary.cache_at_s + (summary.cache_ttl_s or rules.CACHE_TTL_5M)
    error = ""
    if summary.error_unresolved and summary.last_kind == "error" and not summary.waiting_since_s:
        detail = summary.last_error or {}
        error = "API " + (" ".join(str(x) for x in (detail.get("code"), detail.get("type")) if x) or "error")
    context = rules.context_segment(summary, size)[0]
    if isinstance(percent, (int, float)) and not isinstance(percent, bool) and 0 <= percent <= 1000:
        context = f"ctx {percent:.0f}%" + (context[context.index(" · "):] if " · " in context else "")
    lines = [MAGIC, key, _epoch(summary.last_s), _epoch(expiry), context,
             _epoch(summary.waiting_since_s), error]
    return "".join(shell_safe(line, 120) + "\n" for line in lines)


def values(text: str, now_s: float) -> dict:
    """`CCPROMPT_CACHE`, `CCPROMPT_CONTEXT`, `CCPROMPT_SESSION` at `now_s`, as the shell hooks compute them.

    All three are empty for a file that is not v1, or a session quiet for FRESH_S.
    """
    from ccprompt.core.session_rules import STALL_AFTER_S

    out = {"CCPROMPT_CACHE": "", "CCPROMPT_CONTEXT": "", "CCPROMPT_SESSION": ""}
    lines = text.split("\n")
    if len(lines) < LINES or lines[0] != MAGIC:
        return out
    last, expiry, context, since, error = lines[2:LINES]
    if not last.isdigit() or now_s - int(last) > FRESH_S:
        return out
    now = int(now_s)
    if expiry.isdigit():
        left = int(expiry) - now
        out["CCPROMPT_CACHE"] = f"cache {fmt_s(left)}" if left > 0 else "cache expired"
    out["CCPROMPT_CONTEXT"] = context
    if since.isdigit():
        waited = max(0, now - int(since))
        out["CCPROMPT_SESSION"] = f"{'stalled' if waited >= STALL_AFTER_S else 'waiting'} {fmt_s(waited)}"
    else:
        out["CCPROMPT_SESSION"] = error
    return out
