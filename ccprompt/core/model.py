"""The typed model: the monitoring state, a probe's outcome, and the small values passed between floors.

`MonitorState.from_json` is the one tolerant parser of `monitoring.json`: wrong types,
NaN, absurd numbers and missing keys all become defaults there, once, so nothing past it
needs an `isinstance` guard. `to_json` keeps the contract's shape (SPEC §3), so state
files written by earlier versions still read.

Plain `__slots__` classes, not dataclasses: `import dataclasses` pulls in `re` and
`inspect`, which the status line cannot afford.
"""

from ccprompt.core.text import breakdown, number, redact_url

SCHEMA = 1
STATUSES = ("healthy", "degraded", "error", "unknown")
ANSWERED = ("healthy", "degraded")  # the API answered: healthy, or slow but working
PHASES = ("dns", "tcp", "tls", "ttfb", "total")
RECENT_COLD_LIMIT = 50
MAX_MS = 10**7  # nothing ccprompt measures takes close to three hours


class Record:
    """Fields declared once in `_fields` as (name, default); a callable default is a factory."""

    __slots__ = ()
    _fields: tuple = ()

    def __init__(self, **values):
        for name, default in self._fields:
            if name in values:
                setattr(self, name, values.pop(name))
            else:
                setattr(self, name, default() if callable(default) else default)
        if values:
            raise TypeError(f"{type(self).__name__} has no field {sorted(values)[0]!r}")

    def to_dict(self) -> dict:
        return {name: _plain(getattr(self, name)) for name, _ in self._fields}

    def __eq__(self, other):
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name, _ in self._fields[:4])
        return f"{type(self).__name__}({inner}, …)"


def _slots(fields) -> tuple:
    return tuple(name for name, _ in fields)


def _plain(value):
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# -- tolerant readers for foreign JSON --------------------------------------------------


def as_int(value, default=0, low=None, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return default
    if value in (float("inf"), float("-inf")):
        return default
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        return default
    return value


def as_ms(value):
    """A duration in ms: a finite number from 0 to MAX_MS, else None."""
    value = number(value)
    if value is None or value < 0 or value > MAX_MS:
        return None
    return value


def as_str(value, default=None, limit: int = 500):
    return value[:limit] if isinstance(value, str) else default


def as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


# -- the outcome of one probe -----------------------------------------------------------


class Outcome(Record):
    """Everything one probe learned. Holds no secret and no response content."""

    _fields = (
        ("endpoint", ""),
        ("credential_source", "none"),
        ("credential_kind", None),
        ("model", ""),
        ("timeout_ms", 0),
        ("mode", "MANUAL"),
        ("started_at", 0.0),
        ("http_status", 0),
        ("http_version", None),
        ("remote_ip", None),
        ("proxy", None),
        ("error_type", None),
        ("error_message", None),
        ("failure_phase", None),
        ("stalled_phase", None),
        ("curl_error", None),
        ("curl_message", None),
        ("phases_ms", lambda: dict.fromkeys(PHASES)),
        ("reused", dict),
        ("request_id", None),
        ("retry_after", None),
        ("ratelimit", dict),
        ("auth", "checked"),
        ("status", "unknown"),
        ("reason", ""),
    )
    __slots__ = _slots(_fields)

    @property
    def anonymous(self) -> bool:
        return self.credential_source == "none"

    @property
    def https(self) -> bool:
        return self.endpoint.lower().startswith("https://")

    @property
    def total_ms(self):
        return self.phases_ms.get("total")


# -- the state ---------------------------------------------------------------------------


class Network(Record):
    """The last probe's facts and the rolling baseline (`network` in monitoring.json)."""

    _fields = (
        ("latency_ms", None),
        ("phases_ms", lambda: dict.fromkeys(PHASES)),
        ("reused", dict),
        ("last_http_status", 0),
        ("http_version", None),
        ("error_type", None),
        ("error_message", None),
        ("failure_phase", None),
        ("timeout_ms", None),
        ("remote_ip", None),
        ("request_id", None),
        ("retry_after", None),
        ("ratelimit", dict),
        ("auth", None),
        ("rolling_totals", list),
        ("p80_latency_ms", 0),
        ("p95_latency_ms", 0),
        ("model", None),  # the model the last probe asked
    )
    __slots__ = _slots(_fields)

    @classmethod
    def from_json(cls, raw) -> "Network":
        raw = as_dict(raw)
        phases = as_dict(raw.get("phases_ms"))
        reused = as_dict(raw.get("reused"))
        totals = raw.get("rolling_totals") if isinstance(raw.get("rolling_totals"), list) else []
        ratelimit = {}
        for name, values in as_dict(raw.get("ratelimit")).items():
            if isinstance(name, str) and isinstance(values, dict):
                ratelimit[name[:60]] = {k: as_int(values.get(k), None, 0) for k in ("remaining", "limit")
                                        if as_int(values.get(k), None, 0) is not None}
        return cls(
            latency_ms=as_ms(raw.get("latency_ms")),
            phases_ms={k: as_ms(phases.get(k)) for k in PHASES},
            reused={k: True for k in PHASES if reused.get(k) is True},
            last_http_status=as_int(raw.get("last_http_status"), 0, 0, 999),
            http_version=as_str(raw.get("http_version"), None, 8),
            error_type=as_str(raw.get("error_type"), None, 80),
            error_message=as_str(raw.get("error_message"), None, 200),
            failure_phase=as_str(raw.get("failure_phase"), None, 16),
            timeout_ms=as_int(raw.get("timeout_ms"), None, 0, MAX_MS),
            remote_ip=as_str(raw.get("remote_ip"), None, 64),
            request_id=as_str(raw.get("request_id"), None, 120),
            retry_after=as_str(raw.get("retry_after"), None, 40),
            ratelimit=ratelimit,
            auth=as_str(raw.get("auth"), None, 20),
            rolling_totals=[t for t in (as_ms(v) for v in totals) if t is not None],
            p80_latency_ms=as_ms(raw.get("p80_latency_ms")) or 0,
            p95_latency_ms=as_ms(raw.get("p95_latency_ms")) or 0,
            model=as_str(raw.get("model"), None, 100),
        )


class Windows(Record):
    """When each kind of probe last ran (`monitoring_state` in monitoring.json)."""

    _fields = (
        ("last_probe_mode", None),
        ("last_green_window_id", 0),
        ("last_red_window_id", 0),
        ("recent_cold_sessions", list),
        ("last_probe_at", None),
        ("last_probe_epoch_ms", 0),
        ("last_baseline_epoch_ms", 0),
        ("failed_in_a_row", 0),  # probes in a row that said error: the backoff's step
        ("last_path_epoch_ms", 0),  # the last path check (DNS, TCP, TLS only) that connected
    )
    __slots__ = _slots(_fields)

    @classmethod
    def from_json(cls, raw) -> "Windows":
        raw = as_dict(raw)
        cold = raw.get("recent_cold_sessions") if isinstance(raw.get("recent_cold_sessions"), list) else []
        return cls(
            last_probe_mode=as_str(raw.get("last_probe_mode"), None, 16),
            last_green_window_id=as_int(raw.get("last_green_window_id"), 0, 0),
            last_red_window_id=as_int(raw.get("last_red_window_id"), 0, 0),
            recent_cold_sessions=[s[:200] for s in cold if isinstance(s, str)][-RECENT_COLD_LIMIT:],
            last_probe_at=as_str(raw.get("last_probe_at"), None, 40),
            last_probe_epoch_ms=as_int(raw.get("last_probe_epoch_ms"), 0, 0),
            last_baseline_epoch_ms=as_int(raw.get("last_baseline_epoch_ms"), 0, 0),
            failed_in_a_row=as_int(raw.get("failed_in_a_row"), 0, 0, 10**6),
            last_path_epoch_ms=as_int(raw.get("last_path_epoch_ms"), 0, 0),
        )


class Passive(Record):
    """The newest real request the local proxy saw (`passive` in monitoring.json)."""

    _fields = (
        ("at_ms", 0),
        ("outcome", None),  # ok | error | stall | resumed
        ("http_status", 0),
        ("error_type", None),
        ("attempt", None),
        ("model", None),
        ("stall_since_ms", 0),
        ("ttfb_ms", None),
        ("retry_after", None),
    )
    __slots__ = _slots(_fields)

    @classmethod
    def from_json(cls, raw) -> "Passive":
        raw = as_dict(raw)
        outcome = raw.get("outcome")
        return cls(
            at_ms=as_int(raw.get("at_ms"), 0, 0),
            outcome=outcome if outcome in ("ok", "error", "stall", "resumed") else None,
            http_status=as_int(raw.get("http_status"), 0, 0, 999),
            error_type=as_str(raw.get("error_type"), None, 80),
            attempt=as_int(raw.get("attempt"), None, 0, 1000),
            model=as_str(raw.get("model"), None, 100),
            stall_since_ms=as_int(raw.get("stall_since_ms"), 0, 0),
            ttfb_ms=as_ms(raw.get("ttfb_ms")),
            retry_after=as_str(raw.get("retry_after"), None, 40),
        )


class MonitorState(Record):
    """The whole monitoring state. `from_json` never raises; `to_json` is the file's shape."""

    _fields = (
        ("status", "unknown"),
        ("reason", ""),
        ("monitoring_enabled", True),
        ("endpoint", None),
        ("source", None),
        ("network", Network),
        ("windows", Windows),
        ("last_jsonl_error_event", None),
        ("probe_counts", dict),
        ("incident_counts", dict),  # RED and CONFIRM probes by status (also in probe_counts)
        ("timestamp", None),
        ("passive", Passive),
        ("judge", dict),  # the verdict's own memory (confirmation streaks), opaque here
    )
    __slots__ = _slots(_fields)

    @classmethod
    def from_json(cls, raw) -> "MonitorState | None":
        """The state in a parsed monitoring.json, or None when it is not ours at all."""
        if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
            return None
        api = as_dict(raw.get("api_config"))
        status = raw.get("status")
        event = raw.get("last_jsonl_error_event")
        counts = _counts(raw.get("probe_counts"))
        return cls(
            status=status if status in STATUSES else "unknown",
            reason=as_str(raw.get("reason"), "", 300),
            monitoring_enabled=raw.get("monitoring_enabled") is not False,
            endpoint=redact_url(as_str(api.get("endpoint"), None, 500)),
            source=as_str(api.get("source"), None, 40),
            network=Network.from_json(raw.get("network")),
            windows=Windows.from_json(raw.get("monitoring_state")),
            last_jsonl_error_event=_error_event(event),
            probe_counts=counts,
            incident_counts=_counts(raw.get("incident_counts")),
            timestamp=as_str(raw.get("timestamp"), None, 40),
            passive=Passive.from_json(raw.get("passive")),
            judge=as_dict(raw.get("judge")),
        )

    def to_json(self) -> dict:
        network = self.network.to_dict()
        network["breakdown"] = self.breakdown()
        return {
            "schema": SCHEMA,
            "status": self.status,
            "reason": self.reason,
            "monitoring_enabled": self.monitoring_enabled,
            "api_config": {"endpoint": self.endpoint, "source": self.source},
            "network": network,
            "monitoring_state": self.windows.to_dict(),
            "last_jsonl_error_event": self.last_jsonl_error_event,
            "probe_counts": dict(self.probe_counts),
            "incident_counts": dict(self.incident_counts),
            "timestamp": self.timestamp,
            "passive": self.passive.to_dict(),
            "judge": dict(self.judge),
        }

    @property
    def https(self) -> bool:
        return not (self.endpoint or "").lower().startswith("http://")

    def breakdown(self) -> str:
        return breakdown(self.network.phases_ms, self.network.reused, self.https)


def _counts(raw) -> dict:
    return {k: v for k, v in as_dict(raw).items() if k in STATUSES and as_int(v, None, 0) is not None}


def _error_event(raw):
    if not isinstance(raw, dict):
        return None
    return {
        "timestamp": as_str(raw.get("timestamp"), None, 40),
        "code": as_int(raw.get("code"), None, 0, 999),
        "type": as_str(raw.get("type"), None, 80),
        "message": as_str(raw.get("message"), None, 200),
    }


# -- small values passed between floors -------------------------------------------------


class Decision(Record):
    """Whether a probe is due (`kind` COLD, RED, GREEN or None) and why."""

    _fields = (("kind", None), ("reason", ""))
    __slots__ = _slots(_fields)


class TranscriptScan(Record):
    """What the transcript tail says: the last API error, whether a turn is waiting, usage."""

    _fields = (
        ("read", False),
        ("lines", 0),
        ("skipped", 0),
        ("error", None),  # {"timestamp", "epoch_s", "code", "type", "message"}
        ("unresolved", False),
        ("recent", False),
        ("usage_tokens", None),
        ("model", None),
        ("last_reply_epoch_s", None),  # newest successful assistant entry
        ("waiting_since_epoch_s", None),  # a prompt or tool result with no reply after it
        ("attempts", 0),  # Claude Code's attempts at that turn (`api-request` lines, 2.1.332 on)
        ("attempt_epoch_s", None),  # when the newest attempt was sent
    )
    __slots__ = _slots(_fields)


class RefreshResult(Record):
    """What one scheduler run did."""

    _fields = (("probed", False), ("mode", None), ("reason", ""), ("status", None))
    __slots__ = _slots(_fields)

    def line(self) -> str:
        head = f"{self.mode or 'no probe'}: {self.reason}"
        return head + (f" -> {self.status}" if self.status else "")
