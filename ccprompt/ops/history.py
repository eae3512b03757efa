"""`ccprompt history`: recent probes from history.jsonl as a sparkline, percentiles and a table."""

from __future__ import annotations

import time

from ccprompt.core import store
from ccprompt.core.kinds import word
from ccprompt.core.model import ANSWERED
from ccprompt.core.paths import Paths
from ccprompt.core.text import display_width, fmt_ms, is_number, number, sanitize
from ccprompt.core.transition import iso_local

SPARKS = "▁▂▃▄▅▆▇█"
NO_ANSWER = "×"
SPARK_WIDTH = 60
PHASE_NAMES = (("dns", "DNS"), ("tcp", "TCP"), ("tls", "TLS"), ("ttfb", "TTFB"))
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# A duration is short text from a person or a tool call: longer is refused before it is read.
SINCE_MAX_CHARS = 24
SINCE_MAX_S = 366 * 86400
_DIGITS = "0123456789"


def parse_since(text: str):
    """`90s`, `30m`, `1h`, `1h30m`, `2d`, `1w` in seconds; `all` gives None (no limit).

    Read in one pass over at most SINCE_MAX_CHARS characters (no regular expression), and
    at most SINCE_MAX_S long: whatever a tool call sends is answered at once.
    """
    if not isinstance(text, str):
        raise ValueError("the duration must be text like 90s, 30m, 1h, 1h30m, 2d or all")
    if len(text) > SINCE_MAX_CHARS:
        raise ValueError(f"the duration is longer than {SINCE_MAX_CHARS} characters; use one like 30m, 2h, 2d or all")
    text = text.strip().lower()
    if text == "all":
        return None
    seconds, i, n = 0.0, 0, len(text)
    while i < n:
        start = i
        while i < n and text[i] in _DIGITS:
            i += 1
        if i < n and text[i] == "." and i > start:
            i += 1
            while i < n and text[i] in _DIGITS:
                i += 1
        if i == start or i >= n or text[i] not in _UNITS or text[i - 1] == ".":
            raise ValueError(f"{sanitize(text, SINCE_MAX_CHARS)!r} is not a duration like 90s, 30m, 1h, 1h30m, "
                             "2d or all")
        seconds += float(text[start:i]) * _UNITS[text[i]]
        i += 1
    if not text or seconds <= 0:
        raise ValueError("the duration must be longer than zero")
    if seconds > SINCE_MAX_S:
        raise ValueError("the duration is longer than 366d; use all for everything")
    return seconds


def read_records(paths: Paths) -> list:
    """Every readable record in history.jsonl.1 then history.jsonl, oldest first.

    A torn last line after a crash costs one record, not the view.
    """
    records = [r for r in store.read_history(paths) if is_number(r.get("epoch_ms"))]
    records.sort(key=lambda r: r["epoch_ms"])
    return records


def answered(record: dict) -> bool:
    """The API answered normally, so the Total measures the path and belongs in the latency figures."""
    status = record.get("http_status")
    return record.get("status") in ANSWERED or (is_number(status) and 200 <= status < 300)


def total_ms(record: dict):
    phases = record.get("phases_ms") if isinstance(record.get("phases_ms"), dict) else {}
    value = phases.get("total")
    return number(value)


def slowest_phase(record: dict):
    """(label, ms) of the longest of DNS, TCP, TLS and TTFB, or None when none was measured."""
    phases = record.get("phases_ms") if isinstance(record.get("phases_ms"), dict) else {}
    measured = [(phases[key], label) for key, label in PHASE_NAMES if is_number(phases.get(key))]
    if not measured:
        return None
    value, label = max(measured)
    return label, value


def sparkline(records: list, width: int = SPARK_WIDTH) -> str:
    """One cell per probe (or per group of probes when there are more than `width`).

    A cell's height is the largest Total in it, scaled between the period's smallest and
    largest; a cell holding any probe the API did not answer shows `×` instead, because a
    failure hidden inside a tall bar would be missed.
    """
    if not records:
        return ""
    count = min(width, len(records))
    groups = [records[round(i * len(records) / count):round((i + 1) * len(records) / count)]
              for i in range(count)]
    values = [total_ms(r) for r in records if answered(r) and total_ms(r) is not None]
    low, high = (min(values), max(values)) if values else (0, 0)
    cells = []
    for group in groups:
        group_values = [total_ms(r) for r in group if answered(r) and total_ms(r) is not None]
        if any(not answered(r) for r in group) or not group_values:
            cells.append(NO_ANSWER)
            continue
        peak = max(group_values)
        level = 3 if high == low else round((peak - low) / (high - low) * (len(SPARKS) - 1))
        cells.append(SPARKS[level])
    return "".join(cells)


# Probes made because something already looked wrong (an API error in the transcript, a
# waiting turn, a slow answer to confirm): they come every 10 s exactly when things fail,
# so counting them in the error rate would inflate it.
INCIDENT_MODES = ("RED", "CONFIRM")


def summarize(records: list) -> dict:
    """P50, P95 and the error rate of a period (nearest-rank, like the status thresholds).

    The error rate is over the regular probes; incident probes are counted apart.
    """
    from ccprompt.core.verdict import nearest_rank

    values = [total_ms(r) for r in records if answered(r) and total_ms(r) is not None]
    regular = [r for r in records if r.get("mode") not in INCIDENT_MODES]
    incident = [r for r in records if r.get("mode") in INCIDENT_MODES]
    errors = sum(1 for r in regular if r.get("status") == "error")
    return {
        "probes": len(records),
        "answered": len(values),
        "regular_probes": len(regular),
        "errors": errors,
        "error_rate": round(errors / len(regular), 4) if regular else None,
        "incident_probes": len(incident),
        "incident_errors": sum(1 for r in incident if r.get("status") == "error"),
        "p50_ms": nearest_rank(values, 0.50),
        "p95_ms": nearest_rank(values, 0.95),
        "min_ms": min(values) if values else None,
        "max_ms": max(values) if values else None,
    }


def select_period(records: list, since_s, now_s: float) -> list:
    if since_s is None:
        return list(records)
    cutoff = (now_s - since_s) * 1000
    return [r for r in records if r["epoch_ms"] >= cutoff]


def _since_text(since_s) -> str:
    if since_s is None:
        return "all recorded history"
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if since_s >= size and since_s % size == 0:
            return f"the last {int(since_s // size)}{unit}"
    return f"the last {since_s:g}s"


def table(records: list, now_s: float) -> list:
    from ccprompt.core.render import ICONS
    from ccprompt.core.text import sanitize

    today = time.localtime(now_s)[:3]
    # The date only earns its columns when some row is not from today.
    with_date = any(time.localtime(r["epoch_ms"] / 1000)[:3] != today for r in records)
    time_format = "%m-%d %H:%M:%S" if with_date else "%H:%M:%S"
    rows = [("TIME", "PROBE", "STATUS", "HTTP", "ERROR", "TOTAL", "SLOWEST")]
    for record in records:
        status = record.get("status") if record.get("status") in ICONS else "unknown"
        error = record.get("error_type") if record.get("error_type") not in (None, "success") else "-"
        if record.get("failure_phase") and error != "-":
            error += f" ({record['failure_phase']})"
        slowest = slowest_phase(record)
        http = record.get("http_status")
        rows.append((
            time.strftime(time_format, time.localtime(record["epoch_ms"] / 1000)),
            sanitize(word(record.get("mode")), 12),
            f"{ICONS[status]} {status}",
            str(http) if is_number(http) and http else "-",
            sanitize(error, 40),
            fmt_ms(total_ms(record)),
            f"{slowest[0]} {slowest[1]:.0f}ms" if slowest else "-",
        ))
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = {3, 5}  # numbers line up on their last digit
    lines = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - display_width(cell))
            cells.append(pad + cell if i in right else cell + pad)
        lines.append("  ".join(cells).rstrip())
    return lines


def report(paths: Paths, since_s, *, limit: int = 50, now_s: float | None = None, as_json: bool = False,
           endpoint: str | None = None) -> str:
    """The whole `history` output as text (or a JSON document); only `endpoint`'s probes when given."""
    now_s = time.time() if now_s is None else now_s
    period = select_period(read_records(paths), since_s, now_s)
    if endpoint:
        period = [r for r in period if r.get("endpoint") == endpoint]
    stats = summarize(period)
    spark = sparkline(period)
    if as_json:
        from ccprompt.core.text import dumps_json as dumps

        document = {"since_s": since_s, "now": iso_local(now_s), "endpoint": endpoint or "all", **stats,
                    "sparkline": spark, "records": period}
        return dumps(document)
    path = paths.history_file
    where = f" for {sanitize(endpoint, 120)}" if endpoint else ""
    if not period:
        return f"no probes recorded{where} in {_since_text(since_s)} ({path})"
    follow_ups = (f": {stats['regular_probes']} regular, {stats['incident_probes']} follow-ups "
                  f"(after trouble: a failure, a waiting turn, a slow answer)") if stats["incident_probes"] else ""
    lines = [f"{stats['probes']} probes{where} in {_since_text(since_s)}{follow_ups}"]
    legend = f"   {fmt_ms(stats['min_ms'])} … {fmt_ms(stats['max_ms'])}" if stats["answered"] else ""
    if NO_ANSWER in spark:
        legend += f"   ({NO_ANSWER} no answer)"
    lines.append(spark + legend)
    rate = stats["error_rate"] or 0
    # The error rate is over the regular probes; the follow-ups come every 10 s exactly when
    # something fails, so they are counted apart, each sum with what it is out of.
    errors = f"errors {stats['errors']} of {stats['regular_probes']} regular ({rate:.1%})" \
        if stats["regular_probes"] else "errors: no regular probe"
    if stats["incident_probes"]:
        errors += f", {stats['incident_errors']} of {stats['incident_probes']} follow-ups"
    lines.append(f"P50 {fmt_ms(stats['p50_ms'])}   P95 {fmt_ms(stats['p95_ms'])}   {errors}")
    lines.append("")
    shown = period[-limit:] if limit > 0 else period
    lines += table(shown, now_s)
    if len(shown) < len(period):
        lines.append(f"(the last {len(shown)} of {len(period)}; --limit 0 shows all)")
    return "\n".join(lines)
