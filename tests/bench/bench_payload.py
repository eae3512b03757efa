"""What the payload segments and the status page cost a render, against Python's own start in the same run.

Renders Claude Code 2.1.332-shaped payloads (a subscriber's `rate_limits`, `prompt_cache`)
with the lean launcher install.sh writes, each run paired with a `python -I -S -c pass`
right before it (the launcher's own flags). Scenarios:
  default    the default layout: the new fields are on stdin but not shown (they must cost nothing
             but the per-session record `seen/` keeps); measured beside the same payload without them
  segments   `limits`, `cache` and `incident` in the layout (no transcript read for the cache)
  red+page   a red line that reads the status page's record and pins its incident
Usage: .venv/bin/python tests/bench/bench_payload.py [runs]   (default 40)
"""

from __future__ import annotations

import json
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
from harness.statuspage import MAJOR_API, FakeStatusPage  # noqa: E402

from ccprompt import launcher  # noqa: E402


def timed(argv, env, stdin_bytes=None) -> float:
    started = time.perf_counter()
    subprocess.run(argv, input=stdin_bytes, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def configure(env, segments) -> None:
    path = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[statusline]\nsegments = {json.dumps(segments)}\n")


def measure(runs, exe, env, stdin_bytes) -> tuple:
    baseline_argv = [sys.executable, "-I", "-S", "-c", "pass"]
    base, samples = [], []
    for _ in range(runs):
        base.append(timed(baseline_argv, env))
        samples.append(timed([str(exe), "statusline"], env, stdin_bytes))
    return statistics.median(samples), statistics.median(base)


def in_process(home: Path, payload: dict) -> list:
    """Microseconds per call (the best of 300) of each piece of work a render adds, in this process:
    robust to a loaded machine, where whole-process timings drift."""
    from ccprompt.core import seen, statuspage
    from ccprompt.core.config import Config
    from ccprompt.core.model import MonitorState
    from ccprompt.core.paths import Paths
    from ccprompt.core.signal import Signal
    from ccprompt.surfaces import payload_segments

    paths = Paths({"CCPROMPT_HOME": str(home), "HOME": str(home.parent)})
    config = Config.load(paths)
    now = time.time()
    state = MonitorState(status="error")
    state.network.last_http_status = 529
    red = Signal(status="error", cause="529 overloaded", source="probe")
    config.values["statusline.segments"] = ["limits", "cache", "network"]

    def best(call) -> float:
        times = []
        for _ in range(300):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        return min(times) * 1e6

    return [
        ("seen.remember (unchanged record)", best(lambda: seen.remember(paths, payload["session_id"], payload))),
        ("limits + cache segments", best(lambda: payload_segments.add({}, payload, config, None, False, now))),
        ("status page: read + pin", best(lambda: statuspage.explaining(statuspage.read(paths), red, state,
                                                                         int(now * 1000)))),
    ]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    work = Path(tempfile.mkdtemp(prefix="ccprompt-bench-payload-"))
    exe = work / "ccprompt"
    launcher.write(str(exe), sys.executable)
    ca = LocalCA.create(work)
    payload = json.loads((ROOT / "tests" / "fixtures" / "stdin-cc-2.1.332.json").read_text())
    now = time.time()
    payload["workspace"] = {"current_dir": str(ROOT), "project_dir": str(ROOT)}
    payload["transcript_path"] = str(ROOT / "tests" / "fixtures" / "transcript-ok.jsonl")
    payload["rate_limits"] = {"five_hour": {"used_percentage": 42, "resets_at": int(now + 7200)},
                              "seven_day": {"used_percentage": 81, "resets_at": int(now + 86400)}}
    payload["prompt_cache"].update(warm=True, caching_observed=True, expires_at=int((now + 3600) * 1000))
    stdin_bytes = json.dumps(payload).encode()
    rows = []
    with FakeAPI(ca) as api, FakeStatusPage(ca) as page:
        env = {**make_cli_env(work, api.url, api.ca_file), "CCPROMPT_STATUSPAGE_URL": page.url}
        subprocess.run([str(exe), "probe"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([str(exe), "refresh", "--sync"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([str(exe), "statusline"], input=stdin_bytes, env=env, check=True, stdout=subprocess.DEVNULL)
        plain = {k: v for k, v in payload.items() if k not in ("rate_limits", "prompt_cache")}
        rows.append(("default, no new fields", *measure(runs, exe, env, json.dumps(plain).encode())))
        rows.append(("default layout", *measure(runs, exe, env, stdin_bytes)))
        configure(env, ["model", "context", "limits", "cache", "incident", "network"])
        rows.append(("limits+cache+incident", *measure(runs, exe, env, stdin_bytes)))
        configure(env, ["model", "directory", "git", "context", "cost", "network"])
        page.serve(MAJOR_API)
        api.respond(529)
        subprocess.run([str(exe), "probe"], env=env, stdout=subprocess.DEVNULL)
        state = Path(env["CCPROMPT_HOME"]) / "statuspage.json"
        record = json.loads(state.read_text())
        record["checked_ms"] = 0  # due: the next refresh reads the page again
        state.write_text(json.dumps(record))
        subprocess.run([str(exe), "refresh", "--sync"], env=env, check=True, stdout=subprocess.DEVNULL)
        shown = subprocess.run([str(exe), "statusline"], input=stdin_bytes.decode(), env={**env, "NO_COLOR": "1"},
                               capture_output=True, text=True).stdout.strip()
        assert "incident: Elevated errors on Opus 5.5" in shown, shown
        rows.append(("red line + incident", *measure(runs, exe, env, stdin_bytes)))
        pieces = in_process(Path(env["CCPROMPT_HOME"]), payload)
    for name, median, base in rows:
        print(f"{name:<23} median {median * 1000:6.1f} ms   python -I -S -c pass {base * 1000:5.1f} ms"
              f"   ratio {median / base:.2f}x   n={runs}")
    bare = min(timed([sys.executable, "-I", "-S", "-c", "pass"], {}) for _ in range(20)) * 1e6
    for name, micros in pieces:
        print(f"{name:<34} {micros:7.1f} µs   ({micros / bare * 100:.2f} % of the fastest python -I -S start, "
              f"{bare / 1000:.1f} ms)")


if __name__ == "__main__":
    main()
