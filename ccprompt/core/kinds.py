"""The words a user reads for each kind of probe, in one place.

The scheduler and the state name probe kinds by their windows (`GREEN`, `RED`, ...). Those
names are internal: beside a red result, `GREEN` reads as a contradiction. Everything a user
reads (watch, explain, history) says what the probe was for instead.
"""

WORDS = {
    "GREEN": "baseline",        # the regular probe, every green_interval_s
    "COLD": "new session",      # the first render of a Claude Code session
    "RED": "follow-up",         # after trouble: a waiting or retried turn, an API error, a failure on show
    "CONFIRM": "confirm",       # the last probe was slow: one more before the colour changes
    "CALIBRATE": "calibration",  # `probe --count N`: baseline samples in a row
    "MANUAL": "manual",         # `ccprompt probe`, `doctor`
    "PATH": "path check",       # between baselines: DNS, TCP and TLS only, no request, no credential
}


def word(kind) -> str:
    """`baseline` for `GREEN`; an unknown kind is shown lower-case, never upper-case jargon."""
    if not isinstance(kind, str) or not kind:
        return "-"
    return WORDS.get(kind, kind.lower())


def plain(text) -> str:
    """A scheduler's reason with each window name replaced by its word
    (`baseline probe is older than the GREEN interval` -> `... the baseline interval`)."""
    if not isinstance(text, str):
        return ""
    for kind, name in WORDS.items():
        text = text.replace(f"{kind} ", f"{name} ").replace(f"({kind})", f"({name})")
    return text
