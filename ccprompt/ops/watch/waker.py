"""Waiting without polling: stop signals and a finished probe wake the watch loop at once."""

from __future__ import annotations

import os
import select
import signal
import threading
import time

from ccprompt.core.config import Config
from ccprompt.core.paths import Paths

MODE = "GREEN"  # scheduled baseline probes: they feed the rolling samples like the status line's
# Sleep in slices so a suspended laptop or a clock step is noticed soon after it happens.
MAX_SLICE_S = 30.0


class Waker:
    """Interruptible waits: a stop signal or a finished probe wakes the main loop at once.

    Signals go through `signal.set_wakeup_fd`, so a `select` on the pipe returns the moment
    one arrives, with no polling; the probe thread writes to the same pipe when it is done.
    """

    def __init__(self):
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)
        self.stop_signal = None
        self._previous = {}
        self._previous_wakeup = -1

    def install(self) -> None:
        self._previous_wakeup = signal.set_wakeup_fd(self.write_fd, warn_on_full_buffer=False)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(self._previous_wakeup)
        # The pipe stays open: an abandoned probe thread may still poke it on its way out,
        # and a closed descriptor's number could by then belong to another file.

    def _on_signal(self, signum, frame) -> None:
        self.stop_signal = signal.Signals(signum).name

    @property
    def stopping(self) -> bool:
        return self.stop_signal is not None

    def poke(self) -> None:
        try:
            os.write(self.write_fd, b"\0")
        except OSError:
            pass

    def wait(self, seconds: float) -> None:
        if self.stopping or seconds <= 0:
            return
        select.select([self.read_fd], [], [], seconds)
        try:
            while os.read(self.read_fd, 512):
                pass
        except (BlockingIOError, OSError):
            pass

    def sleep_until(self, epoch_s: float) -> None:
        while not self.stopping:
            remaining = epoch_s - time.time()
            if remaining <= 0:
                return
            self.wait(min(remaining, MAX_SLICE_S))


class ProbeJob(threading.Thread):
    """One probe in a worker thread, so a stop request never waits for libcurl.

    A stop before the result is written abandons it: nothing is recorded, and the state
    keeps its previous content. Once the write has begun it is allowed to finish (it takes
    milliseconds and is atomic anyway).
    """

    def __init__(self, paths: Paths, config: Config, previous, waker: Waker):
        super().__init__(name="ccprompt-probe", daemon=True)
        self.paths, self.config, self.previous, self.waker = paths, config, previous, waker
        self.outcome = None
        self.state = None
        self.error = None
        self.done = threading.Event()
        self._guard = threading.Lock()
        self._abandoned = False
        self._writing = False

    def run(self) -> None:
        from ccprompt.sources import recorder

        try:
            outcome, new = recorder.probe_and_record(self.paths, self.config, MODE, previous=self.previous,
                                                     write=False)
            with self._guard:
                if self._abandoned:
                    return
                self._writing = True
            recorder.record(self.paths, self.config, outcome, new, writer="watch")
            self.outcome, self.state = outcome, new
        except Exception as exc:  # reported by the main loop; the monitor keeps going
            self.error = exc
        finally:
            self.done.set()
            self.waker.poke()

    def abandon(self) -> bool:
        """Drop the result. False when its write has already begun: let that finish."""
        with self._guard:
            if self._writing:
                return False
            self._abandoned = True
            return True
