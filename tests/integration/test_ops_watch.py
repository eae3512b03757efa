"""`ccprompt watch` against the local TLS API: backoff, single instance, clean stops, no duplicate probes."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness import REPO_ROOT, assert_no_secret


class Watch:
    """A running `ccprompt watch` whose stderr lines are collected as they arrive."""

    def __init__(self, env: dict, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ccprompt", "watch", *args],
            env=env, cwd=str(REPO_ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8",
        )
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, predicate, timeout: float = 10.0) -> str:
        """The first stderr line matching `predicate` (a regex or a callable)."""
        test = (lambda line: re.search(predicate, line)) if isinstance(predicate, str) else predicate
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if test(line):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.proc.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"no stderr line matched {predicate!r}; got:\n" + "\n".join(self.lines))
                self._cond.wait(min(remaining, 0.1))

    def stop(self, sig=signal.SIGTERM, timeout: float = 5.0) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        elapsed = time.monotonic() - started
        self._reader.join(2)
        return code, elapsed

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    @property
    def text(self) -> str:
        with self._cond:
            return "\n".join(self.lines)


# A probe that hangs does so for this long (its timeout): stopping well before that proves the
# probe in flight was abandoned, not waited out, on a machine however busy.
HANG_S = 60


@pytest.fixture
def watches():
    started: list[Watch] = []

    def start(env, *args):
        watch = Watch(env, *args)
        started.append(watch)
        return watch

    yield start
    for watch in started:
        watch.kill()


def state_of(env) -> dict:
    return json.loads((Path(env["CCPROMPT_HOME"]) / "monitoring.json").read_text())


def test_failing_then_recovering_api_shows_the_backoff_then_reset(fake_api, cc_env, watches):
    fake_api.respond_sequence([529] * 5 + [200])
    watch = watches(cc_env, "--interval", "1.6", "--retry-s", "0.1")
    watch.wait_for(r"healthy .*next probe in 1\.6s")
    code, _ = watch.stop()
    trace = watch.text
    print(trace)  # the backoff trace, for the record

    retries = [(int(n), float(s)) for n, s in re.findall(r"retry (\d+) in ([\d.]+)s", trace)]
    assert [n for n, _ in retries] == [1, 2, 3, 4, 5]
    delays = [s for _, s in retries]
    assert delays[0] == 0.1  # the first retry comes soon, without jitter
    # Then the same, less up to 20 % of spread, for ten minutes' worth of failures
    # (core.schedule.backoff_s, shared with the status line and the prompt), so a recovery is seen soon.
    assert all(0.08 <= d <= 0.1 for d in delays[1:]), f"retries after the first: {delays}"
    assert trace.count("error  HTTP 529  overloaded_error") == 5
    assert re.search(r"\d\d 🟢 healthy  HTTP 200  Total:\d+ms  next probe in 1\.6s", trace)
    assert "GREEN" not in trace  # the scheduler's window names are not for the user
    assert code == 0 and "stopping on SIGTERM" in trace
    assert fake_api.request_count == 6  # one request per line of the trace, nothing doubled
    assert state_of(cc_env)["status"] == "healthy"
    assert_no_secret(trace, Path(cc_env["HOME"]))


def test_json_progress_is_one_object_per_line(fake_api, cc_env, watches):
    fake_api.respond_sequence([503, 200])
    watch = watches(cc_env, "--json", "--interval", "5", "--retry-s", "0.05")
    watch.wait_for(lambda line: '"status": "healthy"' in line)
    code, _ = watch.stop(signal.SIGINT)
    events = [json.loads(line) for line in watch.lines]
    assert [e["event"] for e in events] == ["start", "probe", "probe", "stop"]
    failed, recovered = events[1], events[2]
    assert failed["status"] == "error" and failed["http_status"] == 503 and failed["failures"] == 1
    assert failed["next_in_s"] == 0.05
    assert recovered["status"] == "healthy" and recovered["failures"] == 0 and recovered["next_in_s"] == 5
    assert events[-1]["signal"] == "SIGINT" and code == 0


def test_second_watch_refuses_and_names_the_running_pid(fake_api, cc_env, watches, run_cli):
    first = watches(cc_env, "--interval", "60")
    first.wait_for("next probe in 60s")
    second = run_cli("watch", "--interval", "60", env=cc_env, timeout=10)
    assert second.returncode == 1
    assert "already running" in second.stderr and f"(pid {first.proc.pid})" in second.stderr
    once = run_cli("watch", "--once", env=cc_env, timeout=10)  # --once is a second instance too
    assert once.returncode == 1 and f"pid {first.proc.pid}" in once.stderr
    code, _ = first.stop()
    assert code == 0
    assert fake_api.request_count == 1
    # Once the first has stopped, a new one may start.
    after = run_cli("watch", "--once", env=cc_env, timeout=10)
    assert after.returncode == 0, after.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_during_a_probe_exits_fast_and_leaves_the_state_intact(fake_api, cc_env, watches, sig):
    fake_api.respond_sequence([200])
    fake_api.respond(hang=True)  # every later probe hangs until its timeout, a minute
    watch = watches({**cc_env, "CCPROMPT_TIMEOUT_MS": str(HANG_S * 1000)}, "--interval", "1")
    watch.wait_for("healthy")
    before = state_of(cc_env)
    fake_api.wait_for_requests(2, timeout=30)  # the second probe is now in flight
    time.sleep(0.2)
    code, elapsed = watch.stop(sig, timeout=HANG_S)
    assert code == 0
    assert elapsed < HANG_S / 4, f"took {elapsed:.2f}s to stop: it waited for the probe"
    assert "probe in flight abandoned, state untouched" in watch.text
    home = Path(cc_env["CCPROMPT_HOME"])
    assert state_of(cc_env) == before  # valid JSON, and the abandoned probe wrote nothing
    assert not [p.name for p in home.iterdir() if p.name.endswith(".tmp")]
    assert len((home / "history.jsonl").read_text().splitlines()) == 1
    assert (home / "watch.pid").read_text() == ""  # released


def test_restart_with_a_fresh_state_does_not_probe_again(fake_api, cc_env, watches, run_cli):
    assert run_cli("probe", env=cc_env).returncode == 0
    watch = watches(cc_env, "--interval", "60")
    line = watch.wait_for("state is fresh")
    assert re.search(r"state is fresh \(healthy, probed [\d.]+s ago\); next probe in \d+s", line)
    time.sleep(0.5)
    watch.stop()
    assert fake_api.request_count == 1


def test_once_adopts_a_probe_another_process_finished_while_it_waited(fake_api, cc_env, watches):
    # This test process plays "another ccprompt": it holds the probe lock and probes.
    from ccprompt.core.config import Config
    from ccprompt.core.paths import Paths
    from ccprompt.sources import recorder

    paths = Paths(cc_env)
    recorder.prepare(paths)
    lock = recorder.probe_lock(paths)
    assert lock.acquire(blocking=False)
    try:
        watch = watches(cc_env, "--once")
        time.sleep(0.5)  # watch is now waiting for the lock
        outcome, _ = recorder.probe_and_record(paths, Config.load(paths), "GREEN")
        assert outcome.status == "healthy"
    finally:
        lock.release()
    assert watch.proc.wait(10) == 0
    watch._reader.join(2)
    assert "another process probed" in watch.text and "healthy" in watch.text
    assert fake_api.request_count == 1  # the watch did not repeat the probe


def test_textfile_readers_never_see_a_partial_file(fake_api, cc_env, watches, tmp_path):
    fake_api.respond(status=529)  # failures keep the retries, and so the rewrites, coming fast
    textdir = tmp_path / "textfile"
    textdir.mkdir()
    target = textdir / "ccprompt.prom"
    watch = watches(cc_env, "--interval", "1", "--retry-s", "0.02", "--textfile", str(textdir))
    watch.wait_for("retry 1 ")
    reads, versions, strays = 0, set(), set()
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        strays |= {p.name for p in textdir.iterdir() if p.name.endswith(".prom") and p.name != "ccprompt.prom"}
        text = target.read_text()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        # The last family written is present, so the file is complete.
        assert "ccprompt_scrape_timestamp_seconds" in families, text
        versions.add(families["ccprompt_scrape_timestamp_seconds"].samples[0].value)
        reads += 1
    watch.stop()
    assert not strays
    assert len(versions) >= 4, f"only {len(versions)} rewrites seen in {reads} reads"
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    families = {f.name: f for f in text_string_to_metric_families(target.read_text())}
    assert families["ccprompt_last_http_status"].samples[0].value == 529


def test_interval_and_textfile_come_from_the_config(fake_api, cc_env, watches, tmp_path):
    textdir = tmp_path / "collector"
    textdir.mkdir()
    config = Path(cc_env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[watch]\ninterval_s = 42\ntextfile_dir = "{textdir}"\n')
    watch = watches(cc_env)
    assert "every 42s" in watch.wait_for("watch started")
    watch.wait_for("next probe in 42s")
    watch.stop()
    assert (textdir / "ccprompt.prom").exists()


def test_an_interrupted_once_reports_the_signal_not_a_result(fake_api, cc_env, watches):
    fake_api.respond(hang=True)
    watch = watches({**cc_env, "CCPROMPT_TIMEOUT_MS": str(HANG_S * 1000)}, "--once")
    fake_api.wait_for_requests(1, timeout=30)
    code, elapsed = watch.stop(signal.SIGTERM, timeout=HANG_S)
    assert code == 128 + signal.SIGTERM and elapsed < HANG_S / 4, f"took {elapsed:.2f}s: it waited for the probe"
    assert not (Path(cc_env["CCPROMPT_HOME"]) / "monitoring.json").exists()
