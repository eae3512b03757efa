"""Plain text helpers every printer shares: the one sanitiser, numbers, units, display width.

Anything that came from outside (a server, stdin, a transcript, a file, a branch name,
the environment) passes through `sanitize` before it reaches a terminal.
"""

PHASE_LABELS = (("dns", "DNS"), ("tcp", "TCP"), ("tls", "TLS"), ("ttfb", "TTFB"), ("total", "Total"))

# Invisible or direction-changing characters that could disguise what a line says:
# zero-width space/joiners, LRM/RLM, ALM, line/paragraph separators, bidi embeddings,
# overrides and isolates, the BOM.
_INVISIBLE = (
    {0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029, 0x2060, 0xFEFF}
    | set(range(0x202A, 0x202F))
    | set(range(0x2066, 0x206A))
)


def sanitize(text, limit: int = 200) -> str:
    """Printable text only: escape sequences, C0/C1 controls, bidi and zero-width characters removed."""
    if text is None:
        return ""
    return _printable(str(text), limit).strip()


# Characters a prompt expands even inside a value: command substitution, parameters, escapes,
# history, quoting. `%` is zsh's prompt escape; it stays only as a number's unit.
_SHELL_UNSAFE = frozenset("`$\\!'\"")


def shell_safe(text, limit: int = 200) -> str:
    """`sanitize`, then an alphabet safe in a shell prompt, even pasted into a double-quoted
    `PS1` or a zsh `PROMPT_SUBST` prompt: no backtick, `$`, `\\`, `!` or quotes, and `%` only
    right after a digit and before a space or the end (`ctx 6%`)."""
    text = sanitize(text, limit)
    out = []
    last = len(text) - 1
    for i, ch in enumerate(text):
        if ch in _SHELL_UNSAFE:
            continue
        if ch == "%" and not (i and "0" <= text[i - 1] <= "9" and (i == last or text[i + 1] == " ")):
            continue
        out.append(ch)
    return "".join(out).strip()


def printable(text) -> str:
    """`sanitize` for a whole block about to be printed: its lines, their indentation and
    length kept. The last pass before a terminal, for text built from many fields."""
    return "\n".join(_printable(line, len(line)) for line in str(text).split("\n"))


def _printable(text: str, limit: int) -> str:
    out = []
    i, n = 0, len(text)
    while i < n and len(out) < limit:
        ch = text[i]
        code = ord(ch)
        if ch == "\x1b" or code == 0x9B or code == 0x9D or code == 0x90:
            i = _skip_escape(text, i)
            continue
        if code < 0x20 or 0x7F <= code <= 0x9F or code in _INVISIBLE or 0xD800 <= code <= 0xDFFF:
            if ch in "\t\n\r" and out and out[-1] != " ":
                out.append(" ")
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _skip_escape(text: str, i: int) -> int:
    """Index just past the escape sequence starting at i (ESC or an 8-bit introducer)."""
    n = len(text)
    code = ord(text[i])
    if code == 0x9B:
        kind, j = "[", i + 1
    elif code == 0x9D:
        kind, j = "]", i + 1
    elif code == 0x90:
        kind, j = "P", i + 1
    else:
        if i + 1 >= n:
            return n
        kind, j = text[i + 1], i + 2
    if kind == "[":  # CSI: parameters, then one final byte in @..~
        while j < n and not ("@" <= text[j] <= "~"):
            j += 1
        return j + 1
    if kind in "]PX^_":  # OSC, DCS, SOS, PM, APC: up to BEL or ST
        while j < n:
            if text[j] == "\x07" or ord(text[j]) == 0x9C:
                return j + 1
            if text[j] == "\x1b" and j + 1 < n and text[j + 1] == "\\":
                return j + 2
            j += 1
        return n
    return j  # two-character escape


def is_number(value) -> bool:
    """A real, finite int or float from foreign JSON (a bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return value == value and value not in (float("inf"), float("-inf"))


def number(value):
    """The value if it is a finite number, else None."""
    return value if is_number(value) else None


def iso_epoch(text: str):
    """Epoch seconds (a float) from `2026-12-04T13:29:24.575Z`, with `Z`, an `+HH:MM` offset or
    none (UTC); None for any other shape. Plain arithmetic: importing `datetime` would cost a
    render more than the rest of its reading."""
    if len(text) < 19 or text[4] != "-" or text[7] != "-" or text[10] not in "Tt " or text[13] != ":" \
            or text[16] != ":":
        return None
    fields = text[0:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19]
    if not (fields.isascii() and fields.isdigit()):  # int() would take a sign, a space or a `_`
        return None
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    rest, fraction = text[19:], 0.0
    if rest.startswith("."):
        digits = 1
        while digits < len(rest) and rest[digits].isdigit():
            digits += 1
        if digits == 1:
            return None
        fraction = int(rest[1:digits]) / 10 ** (digits - 1)
        rest = rest[digits:]
    if rest in ("Z", "z", ""):
        offset = 0
    elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":" and (rest[1:3] + rest[4:6]).isascii() \
            and (rest[1:3] + rest[4:6]).isdigit():
        offset = (int(rest[1:3]) * 60 + int(rest[4:6])) * 60 * (1 if rest[0] == "+" else -1)
    else:
        return None
    # Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's days_from_civil).
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return days * 86400 + hour * 3600 + minute * 60 + second + fraction - offset


def fmt_ms(value) -> str:
    """`450ms`, or `-` for nothing."""
    value = number(value)
    if value is None:
        return "-"
    return f"{value:.0f}ms"


def fmt_s(seconds) -> str:
    """`45s`, `3m12s`, `2h05m`: an age or a countdown."""
    seconds = number(seconds)
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def breakdown(phases: dict, reused: dict | None = None, https: bool = True) -> str:
    """`DNS:12ms|TCP:30ms|TLS:45ms|TTFB:380ms|Total:470ms`.

    `reuse` marks a phase a reused connection skipped. Only the phases that ran are shown:
    one that did not complete (everything after a failure) or cannot apply (TLS on http://)
    is left out, never shown as `-`; a failure in DNS leaves only `Total:1ms`.
    """
    reused = reused or {}
    parts = []
    for key, label in PHASE_LABELS:
        if key == "tls" and not https:
            continue
        value = number(phases.get(key))
        if value is None and not reused.get(key):
            continue
        shown = "reuse" if value is None and reused.get(key) else fmt_ms(value)
        parts.append(f"{label}:{shown}")
    return "|".join(parts)


def display_width(text: str) -> int:
    """Terminal columns, counting wide characters (emoji, CJK) as two."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else (0 if unicodedata.combining(ch) else 1) for ch in text)


def clip(text: str, columns: int) -> str:
    """`text` cut to `columns` display columns, ending in `…` when it was cut."""
    if display_width(text) <= columns:
        return text
    out = []
    width = 0
    for ch in text:
        w = display_width(ch)
        if width + w > columns - 1:
            break
        out.append(ch)
        width += w
    return "".join(out).rstrip() + "…"


def redact_url(url) -> str | None:
    """A URL with any user:password replaced by `***`, for storing, printing and exporting.

    The userinfo ends at the LAST `@` before the path, so a password holding `@` is gone whole.
    """
    if not url:
        return url
    url = str(url)
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    rebuilt = authority + slash + path
    return f"{scheme}{sep}{rebuilt}" if sep else rebuilt


def normalise_base_url(url: str) -> tuple[str, str | None]:
    """The base URL with an international host in punycode, and a problem if it is no URL."""
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or rest.startswith("/"):
        return url, f"ANTHROPIC_BASE_URL {_shown(url)} is not an http(s) URL"
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        return url, "ANTHROPIC_BASE_URL contains a space or control character"
    if url.isascii():
        return url, None
    authority, slash, path = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    host, colon, port = hostport.partition(":")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return url, f"ANTHROPIC_BASE_URL host {_shown(host)} is not a valid domain name"
    rebuilt = f"{scheme}://{userinfo}{at}{host}{colon}{port}{slash}{path}"
    if not rebuilt.isascii():
        return url, "ANTHROPIC_BASE_URL has non-ASCII characters outside its host"
    return rebuilt, None


def redact_secrets(text, secrets) -> str:
    """`text` with every given secret (and its URL-encoded form) replaced by `***`."""
    text = "" if text is None else str(text)
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
            from urllib.parse import quote

            encoded = quote(secret, safe="")
            if encoded != secret:
                text = text.replace(encoded, "***")
    return text


def dumps_json(value) -> str:
    """JSON for people and tools: C1, bidi and other invisible characters escaped, floats rounded."""
    import json

    return escape_invisible(json.dumps(_rounded(value), indent=2, ensure_ascii=False))


def _rounded(value):
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def escape_invisible(text: str) -> str:
    """`\\uXXXX` for every character a terminal would act on or hide (JSON keeps them legal)."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0x7F <= code <= 0x9F or code in _INVISIBLE or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def _shown(text: str) -> str:
    return repr(sanitize(redact_url(text), 60))
