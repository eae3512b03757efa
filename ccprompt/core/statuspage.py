"""The public status page (a statuspage.io site): what it said, when to ask again, what to show.

The detached worker fetches `summary.json` (`sources.statuspage`) and keeps a compact,
already-sanitised record in `statuspage.json`; the status line only reads that record,
and only when it has a use for it. Everything here is pure but for the two file helpers.

Which incident explains a failure (`explaining`): an unresolved incident of major or
critical impact anywhere on the page, or one of any impact that names the API side
(a component or title with `API`, `Claude Code` or a model family). A minor incident on
another component (claude.ai, the console) is never pinned to a red line. It is pinned
only to failures that can be Anthropic's: an HTTP error, a slow or missing first byte, a
proxied or retried request; not to a DNS, TCP or TLS failure on the user's own path.
"""

from ccprompt.core.model import Record, _slots, as_int, as_str
from ccprompt.core.text import redact_url, sanitize

FILE = "statuspage.json"
LOCK = "statuspage.lock"
FILE_LIMIT = 64 * 1024
SUMMARY_PATH = "/api/v2/summary.json"
QUIET_S = 600  # nothing red or yellow: every 10 minutes
ALERT_S = 120  # the line or the page shows trouble: every 2 minutes
BACKOFF_MAX_S = 1800
MAX_INCIDENTS = 5
MAX_COMPONENTS = 10
IMPACTS = ("none", "minor", "major", "critical", "maintenance")
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved", "postmortem", "scheduled",
                     "in_progress", "verifying", "completed")
COMPONENT_STATUSES = ("operational", "degraded_performance", "partial_outage", "major_outage",
                      "under_maintenance")
API_WORDS = ("api", "claude code", "opus", "sonnet", "haiku")
SEVERITY = {"critical": 3, "major": 2, "minor": 1}


def summary_url(page: str) -> str:
    """The summary endpoint of a page: `https://status.claude.com` -> `…/api/v2/summary.json`.

    A URL that already names a `.json` document is used as it is.
    """
    page = page.strip()
    path = page.partition("://")[2].partition("/")[2].split("?")[0]
    if path.endswith(".json"):
        return page
    return page.rstrip("/") + SUMMARY_PATH


def page_root(url: str) -> str:
    """Scheme and host of the page, the base of every incident link we print."""
    scheme, _, rest = url.partition("://")
    host = rest.partition("/")[0].rpartition("@")[2]
    return f"{scheme}://{host}"


class Incident(Record):
    _fields = (
        ("id", ""),
        ("title", ""),
        ("status", "investigating"),
        ("impact", "none"),
        ("started_at", None),  # ISO text as the page gave it (checked)
        ("started_s", None),  # the same, epoch seconds
        ("link", None),
        ("components", list),
    )
    __slots__ = _slots(_fields)

    @classmethod
    def from_json(cls, raw) -> "Incident | None":
        if not isinstance(raw, dict) or not isinstance(raw.get("title"), str):
            return None
        components = raw.get("components") if isinstance(raw.get("components"), list) else []
        started_s = raw.get("started_s")
        return cls(
            id=_ident(raw.get("id")),
            title=sanitize(raw["title"], 120),
            status=raw.get("status") if raw.get("status") in INCIDENT_STATUSES else "investigating",
            impact=raw.get("impact") if raw.get("impact") in IMPACTS else "none",
            started_at=_header_text(raw.get("started_at")) if len(str(raw.get("started_at"))) <= 40 else None,
            started_s=as_int(started_s, None, 0, 10**11),
            link=_link_text(raw.get("link")),
            components=[sanitize(c, 80) for c in components[:MAX_COMPONENTS] if isinstance(c, str) and c],
        )

    def names_api(self) -> bool:
        text = " ".join([self.title, *self.components]).lower()
        return any(_has_word(text, word) for word in API_WORDS)

    def explains_failures(self) -> bool:
        return self.impact in ("major", "critical") or (self.impact != "maintenance" and self.names_api())


class PageRecord(Record):
    """What `statuspage.json` holds: the page's own words, already checked and cut to size."""

    _fields = (
        ("url", ""),  # the summary's URL, any password in it replaced by `***`
        ("checked_ms", 0),  # the last attempt
        ("fetched_ms", 0),  # the last answer (200 or 304)
        ("failures", 0),  # attempts in a row that got no usable answer
        ("error", None),  # why the last attempt failed
        ("etag", None),
        ("last_modified", None),
        ("indicator", None),  # none | minor | major | critical | maintenance
        ("description", None),
        ("incidents", list),
        ("components_down", list),  # [{"name", "status"}]
    )
    __slots__ = _slots(_fields)

    @classmethod
    def from_json(cls, raw) -> "PageRecord | None":
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
            return None
        incidents = raw.get("incidents") if isinstance(raw.get("incidents"), list) else []
        down = raw.get("components_down") if isinstance(raw.get("components_down"), list) else []
        indicator = raw.get("indicator")
        return cls(
            url=as_str(raw["url"], "", 500),
            checked_ms=as_int(raw.get("checked_ms"), 0, 0),
            fetched_ms=as_int(raw.get("fetched_ms"), 0, 0),
            failures=as_int(raw.get("failures"), 0, 0, 1000),
            error=sanitize(raw["error"], 120) if isinstance(raw.get("error"), str) else None,
            etag=_header_text(raw.get("etag")),
            last_modified=_header_text(raw.get("last_modified")),
            indicator=indicator if indicator in IMPACTS else None,
            description=sanitize(raw["description"], 80) if isinstance(raw.get("description"), str) else None,
            incidents=[i for i in (Incident.from_json(x) for x in incidents[:MAX_INCIDENTS]) if i is not None],
            components_down=[{"name": sanitize(c.get("name"), 80), "status": c.get("status")}
                             for c in down[:MAX_COMPONENTS] if isinstance(c, dict) and isinstance(c.get("name"), str)
                             and c.get("status") in COMPONENT_STATUSES],
        )

    def troubled(self) -> bool:
        """The page itself shows something wrong: an incident or a component not operational."""
        return bool(self.incidents or self.components_down)

    def reachable(self, now_ms: int, stale_s: float = 3 * BACKOFF_MAX_S) -> bool:
        """It answered at the last attempt, and not too long ago for its words to stand."""
        return bool(self.fetched_ms) and not self.failures and 0 <= now_ms - self.fetched_ms <= stale_s * 1000

    def worst(self, relevant_only: bool = False) -> "Incident | None":
        """The most severe unresolved incident (the newest among equals)."""
        found = [i for i in self.incidents if i.status not in ("resolved", "postmortem", "completed")
                 and (not relevant_only or i.explains_failures())]
        if not found:
            return None
        return max(found, key=lambda i: (SEVERITY.get(i.impact, 0), i.started_s or 0))


def interval_s(record: "PageRecord | None", line_status: str | None) -> int:
    """Seconds between checks: 2 minutes while anything is red or yellow, else 10; longer after failures."""
    alert = line_status in ("error", "degraded") or (record is not None and record.troubled())
    base = ALERT_S if alert else QUIET_S
    if record is not None and record.failures:  # doubled for each failure in a row, up to 30 minutes
        return min(BACKOFF_MAX_S, base * 2 ** min(record.failures, 10))
    return base


def due(now_ms: int, record: "PageRecord | None", url: str, line_status: str | None):
    """(True or False, why): is a check of the page due now?"""
    if not url:
        return False, "status page off (statuspage_url is empty)"
    if record is None or record.url != redact_url(url) or not record.checked_ms:
        return True, "status page never checked"
    if now_ms < record.checked_ms - 60_000:
        return True, "the clock went back"
    wait_ms = interval_s(record, line_status) * 1000
    if now_ms - record.checked_ms >= wait_ms:
        return True, f"status page last checked {(now_ms - record.checked_ms) // 1000}s ago"
    left = (record.checked_ms + wait_ms - now_ms) // 1000
    return False, f"status page checked {(now_ms - record.checked_ms) // 1000}s ago; next in {left}s"


def explaining(record: "PageRecord | None", signal, state, now_ms: int) -> "Incident | None":
    """The incident to pin to this render's failure, or None (see the module's rule)."""
    if record is None or signal is None or signal.status not in ("error", "degraded"):
        return None
    if not record.reachable(now_ms):
        return None
    if signal.source == "probe" and state is not None and signal.status == "error" \
            and not state.network.last_http_status and state.network.failure_phase in ("dns", "tcp", "tls"):
        return None  # the user's own path failed before the API could answer
    return record.worst(relevant_only=True)


def segment(record: "PageRecord | None", now_ms: int):
    """(text, level) for the `incident` segment: the worst open incident, or nothing."""
    if record is None or not record.reachable(now_ms):
        return None, None
    found = record.worst()
    if found is None:
        return None, None
    level = "error" if found.impact in ("major", "critical") else "degraded"
    return f"incident: {found.title}", level


def suffix(incident: "Incident") -> str:
    return f" · incident: {sanitize(incident.title, 60)}"


def to_report(record: "PageRecord | None", url: str, now_ms: int) -> dict:
    """The page's state for `status --json`, the MCP health tool and `explain`."""
    if not url:
        return {"enabled": False}
    out = {"enabled": True, "url": redact_url(url)}
    if record is None or record.url != redact_url(summary_url(url)) or not record.checked_ms:
        out["reachable"] = None
        out["note"] = "not checked yet"
        return out
    out["reachable"] = record.reachable(now_ms)
    out["checked_s_ago"] = max(0, (now_ms - record.checked_ms) // 1000)
    if record.fetched_ms:
        out["answered_s_ago"] = max(0, (now_ms - record.fetched_ms) // 1000)
    if record.failures:
        out["error"] = record.error
        out["failures"] = record.failures
    out["indicator"] = record.indicator
    out["description"] = record.description
    out["incidents"] = [{k: getattr(i, k) for k in ("title", "status", "impact", "started_at", "link", "components")}
                        | {"explains_failures": i.explains_failures()} for i in record.incidents]
    out["components_down"] = list(record.components_down)
    return out


# -- parsing the page's own JSON (in the worker, never on the render path) ---------------


def parse_summary(document, url: str) -> dict:
    """The fields of a PageRecord from a decoded summary.json; raises ValueError if it is none."""
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    incidents = document.get("incidents")
    components = document.get("components")
    status = document.get("status")
    if not isinstance(incidents, list) and not isinstance(components, list) and not isinstance(status, dict):
        raise ValueError("no incidents, components or status in it")
    root = page_root(url)
    names = {}
    down = []
    for item in components if isinstance(components, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        name = sanitize(item["name"], 80)
        if isinstance(item.get("id"), str):
            names[item["id"]] = name
        if item.get("status") in COMPONENT_STATUSES and item["status"] != "operational" and len(down) < MAX_COMPONENTS:
            down.append({"name": name, "status": item["status"]})
    found = []
    for item in incidents if isinstance(incidents, list) else []:
        if len(found) >= MAX_INCIDENTS:
            break
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not sanitize(item["name"], 120):
            continue
        if item.get("status") in ("resolved", "postmortem", "completed"):
            continue
        ident = _ident(item.get("id"))
        started = _iso_text(item.get("started_at")) or _iso_text(item.get("created_at"))
        affected = []
        for part in item.get("components") if isinstance(item.get("components"), list) else []:
            if isinstance(part, dict):
                name = part.get("name") if isinstance(part.get("name"), str) else names.get(part.get("id"))
                if name and len(affected) < MAX_COMPONENTS:
                    affected.append(sanitize(name, 80))
        found.append({
            "id": ident,
            "title": sanitize(item["name"], 120),
            "status": item.get("status") if item.get("status") in INCIDENT_STATUSES else "investigating",
            "impact": item.get("impact") if item.get("impact") in IMPACTS else "none",
            "started_at": started,
            "started_s": _epoch_s(started),
            # Built from the configured page, never taken from the page's JSON: a link we
            # print always leads to the page the user chose.
            "link": f"{root}/incidents/{ident}" if ident else root,
            "components": affected,
        })
    indicator = status.get("indicator") if isinstance(status, dict) else None
    description = status.get("description") if isinstance(status, dict) else None
    return {
        "indicator": indicator if indicator in IMPACTS else None,
        "description": sanitize(description, 80) if isinstance(description, str) else None,
        "incidents": found,
        "components_down": down,
    }


def _has_word(text: str, word: str) -> bool:
    start = text.find(word)
    while start >= 0:
        end = start + len(word)
        if (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum()):
            return True
        start = text.find(word, start + 1)
    return False


def _ident(value) -> str:
    if not isinstance(value, str) or not value or len(value) > 40 or not value.isascii() or not value.isalnum():
        return ""
    return value


def _iso_text(value):
    """An ISO 8601 time as text when it looks like one (checked by parsing), else None."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    return value if _epoch_s(value) is not None else None


def _epoch_s(value):
    if not isinstance(value, str) or len(value) > 40:
        return None
    from datetime import datetime

    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    seconds = int(parsed.timestamp())
    return seconds if 0 < seconds < 10**11 else None


def _link_text(value):
    if not isinstance(value, str) or len(value) > 300 or not value.startswith(("https://", "http://")):
        return None
    return value if all(0x21 <= ord(ch) < 0x7F for ch in value) else None


def _header_text(value):
    if not isinstance(value, str) or not value or len(value) > 200:
        return None
    return value if all(0x20 <= ord(ch) < 0x7F for ch in value) else None


# -- the file ---------------------------------------------------------------------------


def path_of(paths) -> str:
    return paths.in_state(FILE)


def read(paths) -> "PageRecord | None":
    """The record, or None when missing, unreadable or not ours. Never raises."""
    from ccprompt.core import fastjson, statedir

    try:  # only from a state directory that is the user's alone (core.statedir)
        return PageRecord.from_json(fastjson.loads(statedir.read_state(paths.state_dir, path_of(paths), FILE_LIMIT)))
    except (OSError, ValueError, RecursionError):
        return None


def write(paths, record: "PageRecord") -> None:
    import json

    from ccprompt.core import files

    files.atomic_write(path_of(paths), files.encode(json.dumps(record.to_dict(), separators=(",", ":"),
                                                               ensure_ascii=False)))


def explain_lines(record: "PageRecord | None", page: str, now_ms: int, pinned: "Incident | None",
                  line_status: str | None = None) -> list:
    """What `explain` says of the page: where, when it answered, each open incident, what the line took."""
    from ccprompt.core.text import fmt_s

    if not page:
        return ["off (statuspage_url is empty)"]
    url = redact_url(summary_url(page))
    shown = sanitize(redact_url(page), 80)
    if record is None or record.url != url or not record.checked_ms:
        return [f"{shown}: not checked yet; the next background refresh reads it"]
    ago = fmt_s((now_ms - record.checked_ms) / 1000)
    if record.failures:
        wait = interval_s(record, line_status)
        lines = [f"{shown}: unreachable at the last check {ago} ago ({record.error}); "
                 f"{record.failures} failure(s) in a row, next try after {fmt_s(wait)}; the line stays silent"]
        if record.fetched_ms:
            lines.append(f"last answer {fmt_s((now_ms - record.fetched_ms) / 1000)} ago")
        return lines
    lines = [f"{shown}: {record.description or record.indicator or 'answered'} (checked {ago} ago)"]
    for item in record.incidents:
        since = ""
        if item.started_s:
            import time as _time

            since = f", since {_time.strftime('%Y-%m-%d %H:%M UTC', _time.gmtime(item.started_s))}" \
                    f" ({fmt_s(now_ms / 1000 - item.started_s)} ago)"
        where = f"; affects {', '.join(item.components)}" if item.components else ""
        use = "shown on the line" if item is pinned else (
            "would explain a failure" if item.explains_failures() else "not pinned to the line (minor, elsewhere)")
        lines.append(f"incident: {item.title} — {item.status}, {item.impact} impact{since}{where} · "
                     f"{item.link} · {use}")
    for part in record.components_down:
        lines.append(f"component: {part['name']} {part['status'].replace('_', ' ')}")
    return lines


def report(paths, now_s=None) -> dict:
    """`to_report` for this configuration and the record on disk."""
    import time

    from ccprompt.core.config import Config

    now_ms = int((time.time() if now_s is None else now_s) * 1000)
    return to_report(read(paths), Config.load(paths)["statuspage_url"], now_ms)
