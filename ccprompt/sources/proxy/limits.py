"""What one proxy lets its clients hold: time, connections, buffered request bytes, open files.

Every figure is a `proxy.*` config key (docs/proxy.md, "Limits"). A connection is given time
only while it owes the proxy something: the rest of a head, the rest of a body, or its next
request. While its request is being answered it has no deadline, so a stream of any length, however
slow, is never cut by these.
"""

from __future__ import annotations

HEAD_TIMEOUT_S = 10.0  # the whole head of a request, from its first byte
BODY_TIMEOUT_S = 60.0  # the whole body, from the end of its head
IDLE_TIMEOUT_S = 120.0  # a connection with no request in progress
MAX_CONNECTIONS = 1024  # client connections at once; past it the longest idle one goes, else a 503
BUFFER_BYTES = 32 * 1024 * 1024  # request bytes held at once, all connections together
SWEEP_S = 0.5  # how often deadlines are checked
FILES_RESERVE = 64  # descriptors kept for the pool, the state files, the analysis


class Limits:
    """The figures in force for one server."""

    __slots__ = ("head_timeout_s", "body_timeout_s", "idle_timeout_s", "max_connections", "buffer_bytes")

    def __init__(self, head_timeout_s: float = HEAD_TIMEOUT_S, body_timeout_s: float = BODY_TIMEOUT_S,
                 idle_timeout_s: float = IDLE_TIMEOUT_S, max_connections: int = MAX_CONNECTIONS,
                 buffer_bytes: int = BUFFER_BYTES) -> None:
        self.head_timeout_s = float(head_timeout_s)
        self.body_timeout_s = float(body_timeout_s)
        self.idle_timeout_s = float(idle_timeout_s)
        self.max_connections = int(max_connections)
        self.buffer_bytes = int(buffer_bytes)

    @classmethod
    def from_config(cls, config) -> Limits:
        return cls(config["proxy.head_timeout_s"], config["proxy.body_timeout_s"], config["proxy.idle_timeout_s"],
                   config["proxy.max_connections"], config["proxy.buffer_mb"] * 1024 * 1024)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


class Budget:
    """Request bytes held by all connections. Past the limit, a connection that adds to it stops reading
    (`pause_reading`) until bytes are released, unless it holds everything there is (one request
    up to the body limit always gets through). Bytes already read are never thrown away."""

    __slots__ = ("limit", "held", "waiting", "peak")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self.peak = 0
        self.waiting: set = set()

    def take(self, size: int, client, own: int) -> None:
        """`own`: what this client holds now, `size` included."""
        self.held += size
        if self.held > self.peak:
            self.peak = self.held
        if self.held > self.limit and own < self.held:
            self.waiting.add(client)
            client.pause("budget")

    def release(self, size: int) -> None:
        self.held -= size
        if self.waiting and self.held <= self.limit:
            waiting, self.waiting = self.waiting, set()
            for client in waiting:
                client.resume("budget")

    def forget(self, client) -> None:
        self.waiting.discard(client)


def raise_open_files(reserve: int = FILES_RESERVE) -> int:
    """Raise the soft open-file limit to the hard one (macOS: at most OPEN_MAX); the connections it allows."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return MAX_CONNECTIONS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if target == resource.RLIM_INFINITY or target > 1 << 20:
        target = 1 << 20
    import sys

    if sys.platform == "darwin":
        target = min(target, 10240)  # OPEN_MAX: setrlimit refuses more
    if soft != resource.RLIM_INFINITY and target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    # Each client connection may need an upstream one too.
    return max(16, (soft - reserve) // 2)


TRIM_EVERY_S = 5.0
TRIM_ABOVE_KB = 40 * 1024


class Trimmer:
    """Hands freed heap memory back to the system after a burst (glibc's `malloc_trim`).

    Request bodies and response pieces are freed as soon as they have passed, but glibc keeps the
    freed pages of its heap, so without this a proxy that once held 64 MiB of bodies would keep
    that much resident for good. It runs from the sweep, at most every TRIM_EVERY_S, only when the
    resident size is over TRIM_ABOVE_KB and no request bytes are held; elsewhere it does nothing.
    """

    __slots__ = ("_trim", "_next")

    def __init__(self) -> None:
        self._trim = None
        self._next = 0.0

    def maybe(self, now: float, quiet: bool) -> bool:
        if now < self._next or not quiet:
            return False
        self._next = now + TRIM_EVERY_S
        if _resident_kb() <= TRIM_ABOVE_KB:
            return False
        if self._trim is None:
            self._trim = _malloc_trim() or (lambda: None)
        self._trim()
        return True


def _resident_kb() -> int:
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * 4
    except (OSError, ValueError, IndexError):
        return 0


def _malloc_trim():
    try:
        import ctypes

        function = ctypes.CDLL(None).malloc_trim
    except (ImportError, OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_size_t]
    return lambda: function(0)
