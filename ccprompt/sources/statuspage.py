"""Reading the public status page in the detached worker: a conditional GET through libcurl.

The same proxy and CA rules as the probe (`probe.proxy_for`, `probe.ca_settings`). The
answer is bounded (size, time), never followed to another address, and parsed
defensively: a page that lies, hangs, is huge or is garbage costs one short failure,
remembered with a backoff, and nothing else. No credential is ever sent.
"""

from __future__ import annotations

import os
import time

from ccprompt.core import files
from ccprompt.core import statuspage as rules
from ccprompt.core.text import redact_secrets, redact_url, sanitize

BODY_LIMIT = 1 << 20  # a real summary.json is tens of KB
TIMEOUT_MS = 5000
CONNECT_TIMEOUT_MS = 3000


class Answer:
    """What one GET brought back."""

    __slots__ = ("status", "body", "etag", "last_modified", "error")

    def __init__(self, status=0, body=b"", etag=None, last_modified=None, error=None):
        self.status, self.body, self.etag, self.last_modified, self.error = status, body, etag, last_modified, error


def fetch(url: str, etag=None, last_modified=None, env=None, timeout_ms: int = TIMEOUT_MS) -> Answer:
    """GET `url` once. Never raises for network trouble; `error` says what went wrong."""
    import pycurl

    from ccprompt.sources import probe

    env = os.environ if env is None else env
    proxy, no_proxy = probe.proxy_for(url, env)
    secrets = probe._userinfo_secrets(proxy) + probe._userinfo_secrets(url)
    body = bytearray()
    headers: dict = {}
    too_big = []

    def on_body(chunk: bytes):
        if len(body) + len(chunk) > BODY_LIMIT:
            too_big.append(True)
            return 0  # libcurl stops the transfer
        body.extend(chunk)
        return None

    def on_header(line: bytes):
        text = line.decode("iso-8859-1").strip()
        if text.upper().startswith("HTTP/"):
            headers.clear()
        elif ":" in text and len(headers) < 100:
            name, _, value = text.partition(":")
            headers[name.strip().lower()] = value.strip()[:200]

    request_headers = ["Accept: application/json"]
    if etag:
        request_headers.append(f"If-None-Match: {etag}")
    if last_modified:
        request_headers.append(f"If-Modified-Since: {last_modified}")
    curl = pycurl.Curl()
    answer = Answer()
    try:
        curl.setopt(pycurl.URL, url)
        curl.setopt(pycurl.HTTPGET, 1)
        curl.setopt(pycurl.HTTPHEADER, request_headers)
        curl.setopt(pycurl.USERAGENT, probe.USER_AGENT)
        curl.setopt(pycurl.WRITEFUNCTION, on_body)
        curl.setopt(pycurl.HEADERFUNCTION, on_header)
        curl.setopt(pycurl.TIMEOUT_MS, int(timeout_ms))
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, min(int(timeout_ms), CONNECT_TIMEOUT_MS))
        curl.setopt(pycurl.NOSIGNAL, 1)
        curl.setopt(pycurl.FOLLOWLOCATION, 0)
        curl.setopt(pycurl.MAXFILESIZE, BODY_LIMIT)
        curl.setopt(pycurl.ACCEPT_ENCODING, "")  # gzip and friends; the limit counts decoded bytes
        curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        curl.setopt(pycurl.PROXY, proxy)
        if no_proxy:
            curl.setopt(pycurl.NOPROXY, no_proxy)
        probe._apply_ca(curl, pycurl, probe.ca_settings(env))
        try:
            curl.perform()
            answer.status = curl.getinfo(pycurl.RESPONSE_CODE)
        except pycurl.error as exc:
            if too_big or exc.args[0] == 63:  # CURLE_FILESIZE_EXCEEDED
                answer.error = f"answer larger than {BODY_LIMIT // 1024} KB"
            elif exc.args[0] == 28:
                answer.error = f"no answer within {timeout_ms / 1000:g}s"
            else:
                detail = str(exc.args[1]) if len(exc.args) > 1 else f"curl error {exc.args[0]}"
                answer.error = sanitize(redact_secrets(redact_url(detail), secrets), 120)
    finally:
        curl.close()
    answer.body = bytes(body)
    answer.etag = rules._header_text(headers.get("etag"))
    answer.last_modified = rules._header_text(headers.get("last-modified"))
    if not answer.error and answer.status not in (200, 304):
        answer.error = f"HTTP {answer.status}" + (" (a redirect: set statuspage_url to where it points)"
                                                 if 300 <= answer.status < 400 else "")
    return answer


def digest(previous: "rules.PageRecord | None", url: str, answer: Answer, now_ms: int) -> "rules.PageRecord":
    """The new record from the old one and an answer: a 304 keeps what was known."""
    kept = previous if previous is not None and previous.url == redact_url(url) else None
    record = rules.PageRecord(url=redact_url(url), checked_ms=now_ms)
    if kept is not None:
        for name in ("fetched_ms", "etag", "last_modified", "indicator", "description", "incidents",
                     "components_down", "failures"):
            setattr(record, name, getattr(kept, name))
    error = answer.error
    fields = None
    if not error and answer.status == 200:
        from ccprompt.core import fastjson

        try:
            fields = rules.parse_summary(fastjson.loads(answer.body), url)
        except (ValueError, RecursionError, UnicodeDecodeError):
            error = "not a status page summary"
    elif not error and answer.status == 304 and kept is None:
        error = "304 without an earlier answer"
    if error:
        record.failures = (kept.failures if kept is not None else 0) + 1
        record.error = sanitize(error, 120)
        return record
    record.failures = 0
    record.error = None
    record.fetched_ms = now_ms
    if fields is not None:
        record.etag, record.last_modified = answer.etag, answer.last_modified
        record.indicator, record.description = fields["indicator"], fields["description"]
        record.incidents = [rules.Incident(**i) for i in fields["incidents"]]
        record.components_down = fields["components_down"]
    return record


def check(paths, config, line_status: str | None = None, now_ms: int | None = None, force: bool = False) -> str:
    """Fetch the page when due, under its own lock; returns what was done, in words.

    Never raises for a network, page or disk problem: the status line must not care.
    """
    from ccprompt.sources import recorder

    page = config["statuspage_url"]
    if not page:
        return "status page off"
    url = rules.summary_url(page)
    try:
        recorder.prepare(paths)
    except (recorder.UnsafeStateDir, OSError) as exc:
        return f"status page not checked: {sanitize(exc, 80)}"
    lock = files.FileLock(paths.in_state(rules.LOCK))
    try:
        if not lock.acquire(blocking=False):
            return "status page: another check is running"
    except OSError as exc:
        return f"status page not checked: {sanitize(exc, 80)}"
    try:
        previous = rules.read(paths)
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        is_due, why = rules.due(now_ms, previous, url, line_status)
        if not is_due and not force:
            return why
        same = previous is not None and previous.url == redact_url(url) and previous.fetched_ms
        answer = fetch(url, previous.etag if same else None, previous.last_modified if same else None,
                       env=paths.env)
        record = digest(previous, url, answer, int(time.time() * 1000))
        state_lock = recorder.state_lock(paths)
        if not state_lock.acquire(blocking=True, timeout_s=2.0):
            return "status page fetched, but the state is busy; not saved"
        try:
            rules.write(paths, record)
        except OSError as exc:
            return f"status page fetched, not saved: {sanitize(exc, 80)}"
        finally:
            state_lock.release()
        if record.failures:
            return f"status page unreachable: {record.error}"
        return f"status page: HTTP {answer.status}, {len(record.incidents)} open incident(s)"
    finally:
        lock.release()
