"""Median wall time of `ccprompt statusline` against `python -I -c pass` in a new virtualenv (Python's own start).

Runs the lean launcher that install.sh writes, with this interpreter, against a local TLS
fake API. Scenarios:
  steady   state fresh, nothing due: read stdin, read state, render
  cold     no state yet: decide COLD and start the detached probe, then render
  green    a GREEN probe is due: the same, on an existing state
Usage: .venv/bin/python tests/bench/bench_statusline.py [runs]   (default 40)
The interpreter must have ccprompt installed (the README's test setup does that).
"""

from __future__ import annotations

import fcntl
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from harness import FakeAPI, LocalCA, make_cli_env  # noqa: E402

from ccprompt import launcher  # noqa: E402


def timed(argv, env, stdin_bytes=None) -> float:
    started = time.perf_counter()
    subprocess.run(argv, input=stdin_bytes, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def wait_idle(home: Path) -> None:
    """Let a detached probe finish so it does not compete with the next measured run."""
    lock = home / "probe.lock"
    time.sleep(0.05)
    if lock.exists():
        with open(lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            fcntl.flock(handle, fcntl.LOCK_UN)


def render_setup(work: Path):
    """(launcher, CA, stdin payload) for renders in `work`: the install.sh launcher, a local CA, a full payload."""
    (work / "ca").mkdir()
    exe = work / "ccprompt"
    launcher.write(str(exe), sys.executable)
    ca = LocalCA.create(work / "ca")
    payload = json.loads((ROOT / "tests" / "fixtures" / "stdin-full.json").read_text())
    payload["workspace"] = {"current_dir": str(ROOT), "project_dir": str(ROOT)}
    payload["transcript_path"] = str(ROOT / "tests" / "fixtures" / "transcript-ok.jsonl")
    return exe, ca, payload


def baseline_python(work: Path) -> str:
    """This interpreter in a new virtualenv, as install.sh makes it (pip included): `python -I -c pass`
    there is the baseline, not in a test environment whose editable install runs a `.pth` finder."""
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
    return str(work / "venv" / "bin" / "python")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    work = Path(tempfile.mkdtemp(prefix="ccprompt-bench-"))
    exe, ca, payload = render_setup(work)
    stdin_bytes = json.dumps(payload).encode()
    with FakeAPI(ca) as api:
        env = make_cli_env(work, api.url, api.ca_file)
        home = Path(env["CCPROMPT_HOME"])
        baseline_argv = [baseline_python(work), "-I", "-c", "pass"]
        bare_argv = [sys.executable, "-I", "-S", "-c", "pass"]  # the interpreter without `site`, for reference
        bare = [timed(bare_argv, env) for _ in range(runs)]
        # Each measured run is paired with a baseline run right before it, so drift in the
        # machine's load affects both sides of every ratio alike.
        baselines = {"steady": [], "cold": [], "green": []}

        # steady: one probe recorded for this session, then renders with nothing due
        subprocess.run([str(exe), "statusline", "--sync"], input=stdin_bytes, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        steady = []
        for _ in range(runs):
            baselines["steady"].append(timed(baseline_argv, env))
            steady.append(timed([str(exe), "statusline"], env, stdin_bytes))
        probes_before = api.request_count

        cold = []
        for _ in range(runs):
            (home / "monitoring.json").unlink(missing_ok=True)
            shutil.rmtree(home / "endpoints", ignore_errors=True)  # each endpoint's own copy, where kept
            baselines["cold"].append(timed(baseline_argv, env))
            cold.append(timed([str(exe), "statusline"], env, stdin_bytes))
            wait_idle(home)

        green = []
        deadline = time.monotonic() + 10  # the last COLD probe may not have taken the lock yet
        while not (home / "monitoring.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        for _ in range(runs):
            wait_idle(home)
            state = json.loads((home / "monitoring.json").read_text())
            ms = state["monitoring_state"]
            ms["last_baseline_epoch_ms"] = ms["last_probe_epoch_ms"] = int(time.time() * 1000) - 400_000
            ms["last_green_window_id"] = 0
            ms["recent_cold_sessions"].append(payload["session_id"])
            for path in [home / "monitoring.json", *sorted((home / "endpoints").glob("*.json"))]:
                path.write_text(json.dumps(state))
            baselines["green"].append(timed(baseline_argv, env))
            green.append(timed([str(exe), "statusline"], env, stdin_bytes))
            wait_idle(home)
        probes = api.request_count - probes_before

    for key, name, samples in (("steady", "statusline steady", steady),
                               ("cold", "statusline cold (COLD due)", cold),
                               ("green", "statusline GREEN due", green)):
        median = statistics.median(samples)
        base = statistics.median(baselines[key])
        print(f"{name:<27} median {median * 1000:7.1f} ms   python -I -c pass {base * 1000:6.1f} ms"
              f"   ratio {median / base:.2f}x   n={len(samples)}")
    print(f"detached probes made during the due scenarios: {probes} (expected {2 * runs})")
    print(f"(python -I -S -c pass, no site: {statistics.median(bare) * 1000:.1f} ms; the launcher skips site)")


if __name__ == "__main__":
    main()
