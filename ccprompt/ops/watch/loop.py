"""`ccprompt watch`: the long-running monitor that keeps the state fresh between renders.

It probes on an interval through the same lock and state as every other writer, adopts
a probe another process just made instead of repeating it, retries soon after a failure
and then backs off (`plan`), and stops within a second on SIGTERM, SIGINT or SIGHUP
without leaving a half-recorded probe behind.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
import time

from ccprompt.core import files, store
from ccprompt.core.config import TIMEOUT_CAP_MS, Config
from ccprompt.core.errors import CcpromptError, UsageError
from ccprompt.core.model import MonitorState
from ccprompt.core.paths import Paths
from ccprompt.core.text import sanitize
from ccprompt.ops.watch.plan import ANSWERED, DEFAULT_RETRY_S, plan
from ccprompt.ops.watch.report import Reporter, fmt_s, plan_text, result_fields, result_text
from ccprompt.ops.watch.waker import MODE, ProbeJob, Waker

LOCK_WAIT_S = TIMEOUT_CAP_MS / 1000 + 5


def running_pid(paths: Paths):
    """The pid of a running `ccprompt watch` for this state directory, or None."""
    return files.FileLock(paths.watch_pid_file).holder()


def last_probe_ms(state: MonitorState | None) -> int:
    return state.windows.last_probe_epoch_ms if state is not None else 0


class Watcher:
    """The monitor's main loop. Everything it waits on can be interrupted by a stop signal."""

    def __init__(self, paths: Paths, config: Config, *, interval_s: float, retry_s: float, once: bool,
                 textfile_dir, report: Reporter, rand=random.random):
        self.paths, self.config = paths, config
        self.interval_s, self.retry_s, self.once = interval_s, retry_s, once
        self.textfile_dir = textfile_dir
        self.report = report
        self.rand = rand
        self.waker = Waker()
        self.failures = 0
        self.known_ms = 0  # the newest probe, ours or another process's, already accounted for
        self.next_due = 0.0

    def follow(self, event: str, state, seen_s=None):
        """Apply the plan for `event`; returns it."""
        step = plan(event, state, time.time(), failures=self.failures, interval_s=self.interval_s,
                    retry_s=self.retry_s, seen_s=seen_s, rand=self.rand)
        self.failures, self.next_due = step.failures, step.next_due_s
        return step

    def read(self) -> MonitorState | None:
        """The state of the endpoint this environment probes (another endpoint's is not ours)."""
        from ccprompt.sources import credentials

        return store.read_state_for(self.paths, credentials.endpoint(self.paths))

    def run(self) -> int:
        self.waker.install()
        try:
            return self._loop()
        finally:
            self.waker.uninstall()

    def _loop(self) -> int:
        current = self.read()
        self.known_ms = last_probe_ms(current)
        now = time.time()
        due = now
        if not self.once and current is not None and current.status in ANSWERED \
                and 0 <= now * 1000 - self.known_ms < self.interval_s * 1000:
            # A restart should not cost a probe when the state is already fresh.
            due = self.known_ms / 1000 + self.interval_s
            self.report("fresh", f"state is fresh ({current.status}, probed "
                                 f"{fmt_s(now - self.known_ms / 1000)} ago); next probe in {fmt_s(due - now)}",
                        status=current.status, next_in_s=round(due - now, 3))
        self.refresh_textfile()
        while True:
            self.waker.sleep_until(due)
            if self.waker.stopping:
                return self.stop()
            try:
                code = self.step()
            except OSError as exc:
                # The state directory vanished or filled up: a monitor should outlive that.
                code = self.disk_trouble(exc)
            if code is not None:
                return code
            due = self.next_due

    def plan(self, delay_s: float) -> str:
        """`  next probe in 5m` (or the retry), but nothing for --once, which exits instead."""
        return "" if self.once else f"  {plan_text(self.failures, delay_s)}"

    def disk_trouble(self, exc: OSError):
        step = self.follow("error", None)
        self.report("error", f"cannot use {self.paths.state_dir}: {sanitize(exc.strerror or exc, 120)}"
                             f"{self.plan(step.delay_s)}",
                    error=exc.strerror or str(exc), failures=self.failures, next_in_s=round(step.delay_s, 3))
        try:
            files.private_dir(self.paths.state_dir)
        except OSError:
            pass
        return step.once_code if self.once else None

    def step(self):
        """One scheduled probe (or adoption). Returns an exit code when the loop should end."""
        lock = files.FileLock(self.paths.lock_file)
        if not self._take(lock):
            if self.waker.stopping:
                return self.stop()
            step = self.follow("busy", None)
            self.report("busy", f"the probe lock stayed busy for {LOCK_WAIT_S:.0f}s; trying again in "
                                f"{fmt_s(self.retry_s)}", next_in_s=self.retry_s)
            return step.once_code if self.once else None
        job = None
        try:
            previous = self.read()
            seen = last_probe_ms(previous)
            if seen > self.known_ms:
                adopted = self.adopt(previous, seen)
                if adopted is not None:
                    return adopted
                if self.next_due > time.time():
                    return None
            job = ProbeJob(self.paths, self.config, previous, self.waker)
            job.start()
            while not job.done.is_set() and not self.waker.stopping:
                self.waker.wait(1.0)
            if self.waker.stopping and not job.done.is_set():
                abandoned = job.abandon()
                if not abandoned:
                    job.join(1.0)
                return self.stop(abandoned=abandoned)
            if job is not None:
                lock.mark("unsaved" if isinstance(job.error, OSError) else "saved")
        finally:
            lock.release()
        return self.after_probe(job)

    def _take(self, lock) -> bool:
        deadline = time.monotonic() + LOCK_WAIT_S
        while not self.waker.stopping:
            if lock.acquire(blocking=False):
                return True
            if time.monotonic() >= deadline:
                return False
            self.waker.wait(0.05)
        return False

    def adopt(self, state: MonitorState, seen_ms: int):
        """Another process probed since our schedule point: count its result as ours."""
        self.known_ms = seen_ms
        step = self.follow("adopt", state, seen_s=seen_ms / 1000)
        age = max(time.time() - seen_ms / 1000, 0)
        wait = max(self.next_due - time.time(), 0)
        self.report("adopt", f"another process probed {fmt_s(age)} ago: {result_text(state)}"
                             f"{self.plan(wait)}",
                    **result_fields(state), failures=self.failures, next_in_s=round(wait, 3))
        self.refresh_textfile()
        return step.once_code if self.once else None

    def after_probe(self, job: ProbeJob):
        self.check_status_page(job.state if job.error is None else None)
        if job.error is not None:
            step = self.follow("error", None)
            self.report("error", f"probe failed: {type(job.error).__name__}: {sanitize(job.error, 160)}"
                                 f"{self.plan(step.delay_s)}",
                        error=type(job.error).__name__, failures=self.failures, next_in_s=round(step.delay_s, 3))
            return step.once_code if self.once else None
        new = job.state
        self.known_ms = last_probe_ms(new) or self.known_ms
        if job.outcome is None:
            step = self.follow("skip", new)
            self.report("skip", f"no probe made: {sanitize(new.reason, 120)}  next check in "
                                f"{fmt_s(self.interval_s)}",
                        reason=new.reason, next_in_s=self.interval_s)
            self.refresh_textfile()
            return step.once_code if self.once else None
        step = self.follow("probe", new)
        self.report("probe", f"{result_text(new)}{self.plan(step.delay_s)}",
                    mode=MODE, **result_fields(new), failures=self.failures, next_in_s=round(step.delay_s, 3))
        self.refresh_textfile()
        return step.once_code if self.once else None

    def check_status_page(self, state) -> None:
        """The public status page on its own schedule (2 or 10 minutes), after the probe; never raises."""
        from ccprompt.sources import statuspage

        try:
            statuspage.check(self.paths, self.config, state.status if state is not None else "error")
        except Exception:  # a courtesy: the monitor must outlive anything the page does
            pass

    def refresh_textfile(self) -> None:
        if not self.textfile_dir:
            return
        from ccprompt.ops import metrics

        try:
            from ccprompt.ops import fleet

            # The same exposition as `ccprompt metrics`: the probe state, then the sessions.
            metrics.write_textfile(self.textfile_dir, fleet.exposition(self.paths))
        except OSError as exc:
            self.report("warning", f"cannot write {self.textfile_dir}/{metrics.TEXTFILE}: {exc.strerror}",
                        textfile_error=exc.strerror)

    def stop(self, abandoned: bool = False) -> int:
        text = f"stopping on {self.waker.stop_signal}" + (" (probe in flight abandoned, state untouched)"
                                                          if abandoned else "")
        self.report("stop", text, signal=self.waker.stop_signal, abandoned_probe=abandoned)
        if self.once:
            # An interrupted --once has no result to report; say so the shell way.
            return 128 + getattr(signal, self.waker.stop_signal, signal.SIGTERM).value
        return 0


def main(paths: Paths, config: Config, *, interval_s=None, retry_s: float = DEFAULT_RETRY_S, once: bool = False,
         as_json: bool = False, textfile_dir=None) -> int:
    """Run the monitor; returns the exit code."""
    report = Reporter(as_json)
    if interval_s is None:
        interval_s = config["watch.interval_s"]
    textfile_dir = textfile_dir or config["watch.textfile_dir"] or None
    if textfile_dir and not os.path.isdir(textfile_dir):
        raise UsageError(f"--textfile: {textfile_dir} is not a directory")
    problem = files.unsafe_dir(paths.state_dir)
    if problem:
        raise CcpromptError(f"refusing the state directory: {problem}", 2)
    files.private_dir(paths.state_dir)
    instance = files.FileLock(paths.watch_pid_file)
    if not instance.acquire(blocking=False):
        holder = instance.holder()
        raise CcpromptError(f"watch is already running for {paths.state_dir} (pid {holder or 'unknown'})")
    watcher = Watcher(paths, config, interval_s=interval_s, retry_s=retry_s, once=once,
                      textfile_dir=textfile_dir, report=report)
    try:
        if not once:
            report("start", f"watch started: pid {os.getpid()}, every {fmt_s(interval_s)}, "
                            f"state in {paths.state_dir}" + (f", metrics in {textfile_dir}" if textfile_dir else ""),
                   pid=os.getpid(), interval_s=interval_s, retry_s=retry_s, home=paths.state_dir,
                   textfile_dir=textfile_dir)
        code = watcher.run()
    finally:
        instance.release(clear=True)
    if any(t.name == "ccprompt-probe" and t.is_alive() for t in threading.enumerate()):
        # An abandoned probe is still inside libcurl; it must not delay the exit.
        try:
            sys.stderr.flush()
            sys.stdout.flush()
        finally:
            os._exit(code)
    return code
