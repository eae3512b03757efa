"""Median wall time of the cold commands against `python -I -c pass` (the interpreter's own start).

Each command runs through the lean launcher that install.sh writes, with this interpreter, on a
throwaway HOME whose state is fresh (so `watch --once` adopts it instead of probing). Runs are
paired: one `python -I -c pass`, then one of each command, so a busy machine slows both.
Usage: .venv/bin/python tests/bench/bench_cold.py [runs]   (default 20)
`python -X importtime` shows where a slow one spends its time:
  .venv/bin/python -X importtime -m ccprompt history 2>&1 | sort -t'|' -k2 -n | tail
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ccprompt import launcher  # noqa: E402

COMMANDS = (
    ("--help",),
    ("history",),
    ("metrics",),
    ("install", "statusline", "--dry-run"),
    ("install", "shell", "bash", "--dry-run"),
    ("watch", "--once"),
    ("doctor", "--help"),
    ("config",),
    ("explain",),
    ("completions", "bash"),
)


def timed(argv, env) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def fresh_state(home: Path) -> None:
    """A healthy probe from a moment ago, so nothing is due and nothing reaches the network."""
    state_dir = home / ".claude" / "ccprompt"
    state_dir.mkdir(parents=True, exist_ok=True)
    now = time.time()
    state = {"schema": 1, "status": "healthy", "last_probe_at": now, "last_probe": {
        "at": now, "ok": True, "status": 200, "mode": "anonymous", "total_ms": 300.0, "ttfb_ms": 250.0}}
    (state_dir / "monitoring.json").write_text(json.dumps(state))


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    work = Path(tempfile.mkdtemp(prefix="ccprompt-bench-cold-"))
    try:
        exe = work / "ccprompt"
        launcher.write(str(exe), sys.executable)
        home = work / "home"
        home.mkdir()
        fresh_state(home)
        env = {"CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
               "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local" / "share"),
               "ANTHROPIC_BASE_URL": "https://127.0.0.1:9/", "SHELL": "/bin/bash"}
        baseline = []
        times = {command: [] for command in COMMANDS}
        for _ in range(runs):
            baseline.append(timed([sys.executable, "-I", "-c", "pass"], env))
            for command in COMMANDS:
                times[command].append(timed([str(exe), *command], env))
        base = statistics.median(baseline) * 1000
        print(f"{'command':<40} {'median':>9} {'x python -I -c pass':>20}")
        print(f"{'python -I -c pass':<40} {base:>6.1f} ms {1.0:>19.1f}x")
        for command, samples in times.items():
            median = statistics.median(samples) * 1000
            print(f"{'ccprompt ' + ' '.join(command):<40} {median:>6.1f} ms {median / base:>19.1f}x")
        print(f"({runs} runs each, paired; {sys.executable})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
