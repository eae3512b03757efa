"""Pure rules: percentiles, the healthy/degraded/error verdict, and probe timeouts.

Nothing here touches the clock, the disk or the network, so every rule can be tested
directly. The verdict is a step function: `step(state, result)` returns the next
`JudgeState` (the baseline and the streaks, which the caller persists per endpoint) and
the `Verdict` for this one result.

The rules, in short (docs/verdict.md says the same for users):

* Red means "not working": a non-2xx answer (except 429), a transport failure or a
  timeout. A 2xx is at worst yellow, unless it is past `error_after_ms` (4 s) on two
  probes in a row.
* Yellow needs a slow 2xx to be slow in two ways at once: far out in the baseline's own
  spread (median and MAD of log(ms)), and at least `slow_floor_ms` slower than the usual.
  One slow result only arms a confirmation; the next probe confirms it or clears it. Only
  an extreme result (or one past `error_after_ms`) turns yellow on its own.
* A 429 is yellow, with its retry-after.
"""

from __future__ import annotations

import math

# `core.signal` keeps the same words (it must not import this module); a test holds them equal.
UNRESOLVED_REASON = "answered, but the transcript's API error is not resolved yet"
MIN_SAMPLES = 4
MAX_SAMPLES = 48
RED_TIMEOUT_MS = 2000

# The modes whose answered results describe the path's usual latency. CALIBRATE is
# `probe --count`; CONFIRM is a confirmation probe asked for by `Verdict.confirm`.
BASELINE_MODES = ("GREEN", "COLD", "CALIBRATE", "CONFIRM")

# How far out in the baseline's own spread (in robust standard deviations of log(ms))
# a result must be to arm a confirmation, to keep a slowdown going, or to count alone.
ARM_Z = 1.25
HOLD_Z = 1.0
EXTREME_Z = 3.0
# Ratio bounds around those spreads: never slow below 1.5x the usual (1.25x to stay
# slow), and an extreme result is also at least 2.5x the usual and 3 floors slower.
MIN_ARM_RATIO = 1.5
MIN_HOLD_RATIO = 1.25
MIN_EXTREME_RATIO = 2.5
EXTREME_FLOORS = 3
# A spread estimated from a handful of samples is too optimistic: never below this
# (8 % jitter), and widened while the baseline is short.
MIN_SPREAD = 0.08
SHORT_BASELINE = 12
MAD_TO_SIGMA = 1.4826
# Garbage guards for stored samples: a duration in ms, at most ten minutes.
MAX_SAMPLE_MS = 600_000.0
MAX_RETRY_AFTER_S = 86_400


class Knobs:
    """The configurable thresholds; the defaults are what docs/verdict.md describes.

    slow_floor_ms   a 2xx is slow only when at least this much slower than the usual (250; 0..5000)
    slow_factor     at or past this many times the usual, a 2xx is slow whatever the spread (2.0; 1.2..10)
    error_after_ms  a 2xx this slow is degraded at once, and error on the second in a row (4000; 1000..60000)
    """

    __slots__ = ("slow_floor_ms", "slow_factor", "error_after_ms")

    def __init__(self, slow_floor_ms: float = 250.0, slow_factor: float = 2.0, error_after_ms: float = 4000.0):
        self.slow_floor_ms = float(slow_floor_ms)
        self.slow_factor = max(float(slow_factor), 1.0)
        self.error_after_ms = float(error_after_ms)

    def __repr__(self) -> str:
        return (f"Knobs(slow_floor_ms={self.slow_floor_ms:g}, slow_factor={self.slow_factor:g}, "
                f"error_after_ms={self.error_after_ms:g})")


DEFAULT_KNOBS = Knobs()


class ProbeResult:
    """What the verdict needs to know about one probe; no content, no secrets."""

    __slots__ = ("http_status", "total_ms", "mode", "error_type", "anonymous", "unresolved_error",
                 "retry_after", "failure_phase")

    def __init__(self, http_status: int, total_ms=None, mode: str = "MANUAL", *, error_type=None,
                 anonymous: bool = False, unresolved_error: bool = False, retry_after=None, failure_phase=None):
        self.http_status = http_status if isinstance(http_status, int) else 0
        self.total_ms = _finite_ms(total_ms)
        self.mode = mode
        self.error_type = error_type
        self.anonymous = bool(anonymous)
        self.unresolved_error = bool(unresolved_error)
        self.retry_after = retry_after
        self.failure_phase = failure_phase

    @classmethod
    def from_outcome(cls, outcome, *, unresolved_error: bool = False) -> ProbeResult:
        """The verdict's view of a probe outcome (anything with the Outcome attributes)."""
        return cls(outcome.http_status, outcome.total_ms, outcome.mode, error_type=outcome.error_type,
                   anonymous=outcome.anonymous, unresolved_error=unresolved_error,
                   retry_after=outcome.retry_after, failure_phase=outcome.failure_phase)

    @property
    def timed_out(self) -> bool:
        return self.http_status == 0 and (self.failure_phase == "timeout" or self.error_type == "timeout")

    def __repr__(self) -> str:
        return f"ProbeResult({self.http_status}, {self.total_ms}, {self.mode!r})"


class Verdict:
    """One result's verdict.

    status        "healthy" | "degraded" | "error"
    reason        short plain words, for people
    confirm       True: the verdict is provisional; run a confirmation probe soon
    admitted      this result was added to the baseline now
    held          this result waits for the next probe before it joins the baseline
    retry_after_s seconds the API asked us to wait (429), else None
    usual_ms      the baseline's median before this result, None below MIN_SAMPLES
    """

    __slots__ = ("status", "reason", "confirm", "admitted", "held", "retry_after_s", "usual_ms")

    def __init__(self, status: str, reason: str, *, confirm: bool = False, admitted: bool = False,
                 held: bool = False, retry_after_s=None, usual_ms=None):
        self.status = status
        self.reason = reason
        self.confirm = confirm
        self.admitted = admitted
        self.held = held
        self.retry_after_s = retry_after_s
        self.usual_ms = usual_ms

    def __repr__(self) -> str:
        return f"Verdict({self.status!r}, {self.reason!r}, confirm={self.confirm})"


class JudgeState:
    """What the verdict remembers between probes of one endpoint. Persist it with `to_json`.

    samples      Total (ms) of answered baseline probes, oldest first, at most MAX_SAMPLES
    held         a slow baseline result waiting for the next probe (at most one)
    slow_streak  consecutive probes that were slow or failed (a 429 leaves it alone)
    far_streak   consecutive probes past error_after_ms or timed out
    """

    __slots__ = ("samples", "held", "slow_streak", "far_streak")

    def __init__(self, samples=(), held=(), slow_streak: int = 0, far_streak: int = 0):
        self.samples = [v for v in (_finite_ms(s) for s in samples) if v is not None][-MAX_SAMPLES:]
        self.held = [v for v in (_finite_ms(s) for s in held) if v is not None][-1:]
        self.slow_streak = _count(slow_streak)
        self.far_streak = _count(far_streak)

    def to_json(self) -> dict:
        return {"samples": [round(v, 1) for v in self.samples], "held": [round(v, 1) for v in self.held],
                "slow_streak": self.slow_streak, "far_streak": self.far_streak}

    @classmethod
    def from_json(cls, raw) -> JudgeState:
        """Never raises: anything unreadable becomes an empty or shorter baseline."""
        if not isinstance(raw, dict):
            return cls()
        samples, held = raw.get("samples"), raw.get("held")
        samples = samples[-MAX_SAMPLES:] if isinstance(samples, list) else ()
        held = held[-1:] if isinstance(held, list) else ()
        return cls(samples, held, raw.get("slow_streak"), raw.get("far_streak"))

    def usual_ms(self):
        """The baseline's median, or None while it has fewer than MIN_SAMPLES samples."""
        baseline = Baseline.of(self.samples)
        return baseline.usual_ms if baseline else None

    def __eq__(self, other) -> bool:
        return isinstance(other, JudgeState) and self.to_json() == other.to_json()

    def __repr__(self) -> str:
        return (f"JudgeState({len(self.samples)} samples, held={self.held}, slow_streak={self.slow_streak}, "
                f"far_streak={self.far_streak})")


class Baseline:
    """A robust centre and spread of the samples in log space."""

    __slots__ = ("centre", "spread", "usual_ms", "count")

    def __init__(self, centre: float, spread: float, count: int):
        self.centre = centre
        self.spread = spread
        self.usual_ms = math.exp(centre)
        self.count = count

    @classmethod
    def of(cls, samples):
        logs = sorted(math.log(max(v, 1.0)) for v in samples)
        if len(logs) < MIN_SAMPLES:
            return None
        centre = _median(logs)
        spread = MAD_TO_SIGMA * _median(sorted(abs(v - centre) for v in logs))
        spread = max(spread, MIN_SPREAD)
        if len(logs) < SHORT_BASELINE:
            spread *= 1 + (SHORT_BASELINE - len(logs)) / SHORT_BASELINE
        return cls(centre, spread, len(logs))

    def slow_at(self, z: float, min_ratio: float, knobs: Knobs) -> float:
        """The ms from which a result counts as slow at this level."""
        ratio = min(max(math.exp(z * self.spread), min_ratio), max(knobs.slow_factor, min_ratio))
        return max(ratio * self.usual_ms, self.usual_ms + knobs.slow_floor_ms)

    def extreme_at(self, knobs: Knobs) -> float:
        ratio = max(math.exp(EXTREME_Z * self.spread), MIN_EXTREME_RATIO)
        return max(ratio * self.usual_ms, self.usual_ms + EXTREME_FLOORS * knobs.slow_floor_ms)


def step(state, result: ProbeResult, knobs: Knobs | None = None):
    """Judge one result against the state; return (next state, verdict). Pure.

    Judged against the baseline as it was before this result. A slow baseline result is
    held back and joins the baseline after the next probe has been judged, so an outlier
    never vouches for its own confirmation, yet a sustained new normal becomes the baseline.
    """
    knobs = knobs or DEFAULT_KNOBS
    state = state if isinstance(state, JudgeState) else JudgeState()
    samples = list(state.samples)
    baseline = Baseline.of(samples)
    usual = baseline.usual_ms if baseline else None
    # Whatever this result says, the one held back by the previous probe has now been checked.
    samples += state.held

    if result.http_status == 429:
        retry = parse_retry_after(result.retry_after)
        reason = "rate limited (429)" + (f" · retry in {retry}s" if retry is not None else "")
        nxt = JudgeState(samples, (), state.slow_streak, state.far_streak)
        return nxt, Verdict("degraded", reason, confirm=True, retry_after_s=retry, usual_ms=usual)

    if not answered(result.http_status, result.error_type, result.anonymous):
        far_streak = state.far_streak + 1 if result.timed_out else 0
        nxt = JudgeState(samples, (), state.slow_streak + 1, far_streak)
        return nxt, Verdict("error", failure_words(result), confirm=True, usual_ms=usual)

    total = result.total_ms
    far = total is not None and total >= knobs.error_after_ms
    far_streak = state.far_streak + 1 if far else 0
    slowing = state.slow_streak > 0
    slow = extreme = far
    if total is not None and baseline is not None and not far:
        # A slowdown already under way stays slow on a lower bar than it took to start one.
        z, min_ratio = (HOLD_Z, MIN_HOLD_RATIO) if slowing else (ARM_Z, MIN_ARM_RATIO)
        slow = total >= baseline.slow_at(z, min_ratio, knobs)
        extreme = slow and total >= baseline.extreme_at(knobs)
    slow_streak = state.slow_streak + 1 if slow else 0
    confirmed = slow and (slowing or extreme)
    # A first slow result is provisional, even an extreme one: ask for the next probe soon.
    confirm = slow and not slowing
    if far and far_streak >= 2:
        status = "error"
        reason = f"{seconds(total)}, {ordinal(far_streak)} probe in a row past {seconds(knobs.error_after_ms)}"
    elif far:
        status, reason = "degraded", f"{seconds(total)} is past {seconds(knobs.error_after_ms)}; confirming"
    elif confirmed:
        status, reason = "degraded", _slow_words(total, usual, slow_streak)
    elif slow:
        status, reason = "healthy", _slow_words(total, usual, slow_streak) + "; confirming"
    elif total is None:
        status, reason = "healthy", "answered"
    elif baseline is None:
        status = "healthy"
        reason = f"answered in {seconds(total)}; {len(state.samples)} of {MIN_SAMPLES} baseline samples so far"
    else:
        status, reason = "healthy", f"{seconds(total)}, usual {seconds(usual)}"

    if result.mode == "RED" and result.unresolved_error and status == "healthy":
        status, reason = "degraded", UNRESOLVED_REASON

    admitted = held = False
    if result.mode in BASELINE_MODES and total is not None and not far:
        held = slow and not slowing
        admitted = not held
    nxt = JudgeState(samples + ([total] if admitted else []), [total] if held else (), slow_streak, far_streak)
    return nxt, Verdict(status, reason, confirm=confirm, admitted=admitted, held=held, usual_ms=usual)


def judge(
    http_status: int,
    total_ms,
    samples_before,
    *,
    error_type=None,
    anonymous: bool = False,
    mode: str = "GREEN",
    unresolved_error: bool = False,
    degraded_factor: float = 1.25,
    error_factor: float = 2.0,
):
    """Return (status, reason) for one result with no memory of earlier verdicts.

    A thin wrapper over `step` with no streaks, so a single slow 2xx only arms a
    confirmation (its reason says so) unless it is extreme. `degraded_factor` and
    `error_factor` belong to the old percentile rule and are accepted but not used.
    """
    del degraded_factor, error_factor
    state = JudgeState(samples_before or ())
    result = ProbeResult(http_status, total_ms, mode, error_type=error_type, anonymous=anonymous,
                         unresolved_error=unresolved_error)
    verdict = step(state, result)[1]
    return verdict.status, verdict.reason


def answered(http_status: int, error_type, anonymous: bool) -> bool:
    """Did the API itself answer normally enough to judge the path on latency?

    A 2xx always does. Without a credential the probe is anonymous, and an Anthropic-shaped
    401 still proves DNS, TCP, TLS and the API edge work.
    """
    if 200 <= http_status < 300:
        return True
    return anonymous and http_status == 401 and error_type == "authentication_error"


def nearest_rank(values, fraction: float):
    """Nearest-rank percentile: the smallest sample with at least `fraction` of samples at or below it."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = -(-fraction * len(ordered) // 1)  # ceil
    rank = min(max(int(rank), 1), len(ordered))
    return ordered[rank - 1]


def probe_timeout_ms(mode: str, samples, configured=None, override=None) -> int:
    """How long a probe of this kind may take: --timeout-ms, then config/env, then the rule."""
    if override:
        return int(override)
    if configured:
        return int(configured)
    if mode == "RED":
        return RED_TIMEOUT_MS
    samples = list(samples or ())
    if len(samples) < MIN_SAMPLES:
        return 3500
    return int(min(max(nearest_rank(samples, 0.95) + 500, 2500), 4000))


def parse_retry_after(value):
    """Whole seconds from a retry-after header in seconds; None for a date or garbage."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, (int, float)) or value != value or value < 0:
        return None
    return int(min(math.ceil(value), MAX_RETRY_AFTER_S))


def failure_words(result: ProbeResult) -> str:
    if result.http_status == 0:
        if result.timed_out:
            return "no answer (timeout)"
        return f"no answer ({result.error_type or 'connection_error'})"
    return f"HTTP {result.http_status} {result.error_type or ''}".strip()


def seconds(ms) -> str:
    """A duration for people: `18 ms`, `450 ms`, `1.9 s`."""
    if ms is None:
        return "?"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _slow_words(total, usual, streak: int) -> str:
    words = f"{seconds(total)} is {total / usual:.1f}× the usual {seconds(usual)}"
    return words + (f" ({ordinal(streak)} slow probe in a row)" if streak >= 2 else "")


def _median(ordered):
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _finite_ms(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    # Compared before float(): an int too large for a float would raise.
    if value != value or value < 0 or value > MAX_SAMPLE_MS:
        return None
    return float(value)


def _count(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return 0
    return int(min(max(value, 0), 1_000_000))
