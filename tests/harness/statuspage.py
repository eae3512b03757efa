"""A statuspage.io-shaped status page on 127.0.0.1 over TLS: `/api/v2/summary.json`, scriptable.

It answers like the real thing does: an ETag and a Last-Modified on every page, and a 304
to a conditional GET whose validator still matches. It can also hang, serve garbage, a
page far too big, or an error status. Point ccprompt at it with
`CCPROMPT_STATUSPAGE_URL=<page.url>` and trust its CA with `SSL_CERT_FILE=<page.ca_file>`
(or `NODE_EXTRA_CA_CERTS`, which adds to the system bundle), as the probe does.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from ._server import MAX_HOLD_S, BackgroundServer, TLSHTTPServer
from .tls import LocalCA

SUMMARY_PATH = "/api/v2/summary.json"
LAST_MODIFIED = "Fri, 04 Dec 2026 12:00:00 GMT"

# The components of Claude's own page (status.claude.com), by name.
API_COMPONENT = {"id": "k8w3r06qmzrp", "name": "Claude API (api.anthropic.com)"}
CODE_COMPONENT = {"id": "yjrl9b2r5mrn", "name": "Claude Code"}
WEB_COMPONENT = {"id": "rwppv331jlwc", "name": "claude.ai"}
CONSOLE_COMPONENT = {"id": "0qbwn08sd68x", "name": "platform.claude.com (formerly console.anthropic.com)"}
COMPONENTS = (WEB_COMPONENT, CONSOLE_COMPONENT, API_COMPONENT, CODE_COMPONENT)


def component(base: dict, status: str = "operational") -> dict:
    return {**base, "status": status, "created_at": "2023-07-11T18:00:00.000Z", "description": None,
            "position": 1, "group": False, "group_id": None, "only_show_if_degraded": False,
            "page_id": "tymt9n04zgry", "showcase": True, "start_date": None,
            "updated_at": "2026-12-04T12:00:00.000Z"}


def incident(name: str, impact: str = "major", status: str = "investigating", affected=(API_COMPONENT,),
             started_at: str = "2026-12-04T11:52:00.000Z", ident: str = "x1y2z3w4v5u6") -> dict:
    """One unresolved incident as summary.json lists it."""
    return {
        "id": ident, "name": name, "status": status, "impact": impact,
        "created_at": started_at, "updated_at": started_at, "started_at": started_at,
        "monitoring_at": None, "resolved_at": None, "page_id": "tymt9n04zgry",
        "shortlink": f"https://stspg.io/{ident[:6]}",
        "incident_updates": [{"id": "u" + ident, "status": status, "body": "We are investigating this issue.",
                              "created_at": started_at, "display_at": started_at, "affected_components": None}],
        "components": [component(c, "major_outage" if impact in ("major", "critical") else "degraded_performance")
                       for c in affected],
    }


def summary(*incidents: dict, down: dict | None = None) -> dict:
    """A whole summary.json: every component operational unless `down` names it (name -> status)."""
    down = down or {}
    order = ("none", "minor", "major", "critical")
    worst = max((i.get("impact") for i in incidents if i.get("impact") in order), key=order.index, default="none")
    description = {"none": "All Systems Operational", "minor": "Minor Service Outage",
                   "major": "Partial System Outage", "critical": "Major System Outage"}[worst]
    return {
        "page": {"id": "tymt9n04zgry", "name": "Claude", "url": "https://status.claude.com",
                 "time_zone": "Etc/UTC", "updated_at": "2026-12-04T12:00:00.000Z"},
        "components": [component(c, down.get(c["name"], "operational")) for c in COMPONENTS],
        "incidents": list(incidents),
        "scheduled_maintenances": [],
        "status": {"indicator": worst, "description": description},
    }


QUIET = summary()
MINOR_ELSEWHERE = summary(incident("Elevated errors on claude.ai", impact="minor", affected=(WEB_COMPONENT,),
                                   ident="m1n2o3p4q5r6"), down={WEB_COMPONENT["name"]: "degraded_performance"})
MAJOR_API = summary(incident("Elevated errors on Opus 5.5", impact="major", affected=(API_COMPONENT, CODE_COMPONENT)),
                    down={API_COMPONENT["name"]: "major_outage", CODE_COMPONENT["name"]: "partial_outage"})


@dataclass
class PageRequest:
    path: str
    headers: dict
    time: float
    status: int  # what it was answered with (0: not answered)


class FakeStatusPage(BackgroundServer):
    """Serves `summary.json` as scripted; `mode` is `page`, `hang`, `garbage`, `huge` or `status`."""

    def __init__(self, ca: LocalCA | None = None) -> None:
        super().__init__()
        self.ca = ca if ca is not None else LocalCA.create()
        self.ca_file = self.ca.ca_file
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.requests: list[PageRequest] = []
        self.mode = "page"
        self.document: dict | bytes = QUIET
        self.status = 200
        self.garbage = b"\x1b]0;pwned\x07<html>not json</html>"
        self.huge_bytes = 16 * 1024 * 1024

    def _make_server(self) -> TLSHTTPServer:
        return TLSHTTPServer(_Handler, self, self.ca.server_context("localhost", "127.0.0.1"))

    # -- scripting ---------------------------------------------------------

    def serve(self, document: dict | bytes) -> None:
        with self._lock:
            self.mode, self.document = "page", document

    def misbehave(self, mode: str, status: int = 503) -> None:
        if mode not in ("hang", "garbage", "huge", "status"):
            raise ValueError(mode)
        with self._lock:
            self.mode, self.status = mode, status

    def body(self) -> bytes:
        document = self.document
        return document if isinstance(document, bytes) else json.dumps(document).encode()

    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body()).hexdigest()[:16] + '"'

    # -- inspection --------------------------------------------------------

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def wait_for_requests(self, n: int, timeout: float = 10.0) -> list[PageRequest]:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.requests) >= n, timeout):
                raise AssertionError(f"status page expected >= {n} request(s) in {timeout}s, got {len(self.requests)}")
            return list(self.requests)

    def _record(self, request: PageRequest) -> None:
        with self._lock:
            self.requests.append(request)
            self._arrived.notify_all()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakestatus"
    sys_version = ""

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        page: FakeStatusPage = self.server.owner
        stop = self.server.stop_event
        self.close_connection = True
        headers = {name.lower(): value for name, value in self.headers.items()}
        with page._lock:
            mode, status = page.mode, page.status
        record = PageRequest(self.path, headers, time.time(), 0)
        if mode == "hang":
            page._record(record)
            stop.wait(MAX_HOLD_S)
            return
        if self.path.split("?")[0] != SUMMARY_PATH:
            record.status = 404
            page._record(record)
            self._send(404, b'{"error":"not found"}')
            return
        if mode == "garbage":
            record.status = 200
            page._record(record)
            self._send(200, page.garbage)
            return
        if mode == "status":
            record.status = status
            page._record(record)
            self._send(status, b"<html>unavailable</html>", content_type="text/html")
            return
        if mode == "huge":
            record.status = 200
            page._record(record)
            self._send_huge(page.huge_bytes, stop)
            return
        etag = page.etag()
        if headers.get("if-none-match") == etag or (
                "if-none-match" not in headers and headers.get("if-modified-since") == LAST_MODIFIED):
            record.status = 304
            page._record(record)
            self.send_response(304)
            self.send_header("etag", etag)
            self.send_header("last-modified", LAST_MODIFIED)
            self.send_header("connection", "close")
            self.end_headers()
            return
        record.status = 200
        page._record(record)
        self._send(200, page.body(), extra={"etag": etag, "last-modified": LAST_MODIFIED,
                                            "cache-control": "max-age=0, private, must-revalidate"})

    def _send(self, status: int, body: bytes, content_type: str = "application/json", extra=None) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.send_header("connection", "close")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            pass

    def _send_huge(self, size: int, stop: threading.Event) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(size))
        self.send_header("connection", "close")
        self.end_headers()
        chunk = b'{"incidents":[' + b" " * 65536
        sent = 0
        try:
            while sent < size and not stop.is_set():
                piece = chunk[: size - sent]
                self.wfile.write(piece)
                sent += len(piece)
        except OSError:
            pass  # the client gave up, as it should
