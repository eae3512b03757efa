"""What Claude Code's idle redraws cost at each `refreshInterval`: CPU seconds per minute, per session.

Each steady render (state fresh, nothing due) runs through the lean launcher install.sh writes,
paired with a `python -IS -c pass` run right before it (the launcher's own flags), and the CPU
time (user + system) of both is read from the children's rusage, so the machine's load changes
the wall clock but hardly the figures. Prints the render's CPU against the baseline's, and what
30, 60 or 6 renders a minute cost (refreshInterval 2 s, 1 s, 10 s).
Usage: .venv/bin/python tests/bench/bench_redraw_cost.py [runs]   (default 40)
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_statusline import render_setup  # noqa: E402
from harness import FakeAPI, make_cli_env  # noqa: E402


def cpu_of(argv, env, stdin_bytes=None) -> float:
    """CPU seconds (user + system) one run of argv took."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, input=stdin_bytes, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    work = Path(tempfile.mkdtemp(prefix="ccprompt-bench-"))
    exe, ca, payload = render_setup(work)
    stdin_bytes = json.dumps(payload).encode()
    with FakeAPI(ca) as api:
        env = make_cli_env(work, api.url, api.ca_file)
        subprocess.run([str(exe), "statusline", "--sync"], input=stdin_bytes, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        base, render = [], []
        for _ in range(runs):
            base.append(cpu_of([sys.executable, "-I", "-S", "-c", "pass"], env))
            render.append(cpu_of([str(exe), "statusline"], env, stdin_bytes))
    b, r = statistics.median(base), statistics.median(render)
    print(f"steady render CPU  median {r * 1000:6.1f} ms   python -IS -c pass {b * 1000:6.1f} ms"
          f"   ratio {r / b:.2f}x   n={runs}")
    for interval in (1, 2, 10):
        per_minute = 60 / interval * r
        print(f"refreshInterval {interval:>2} s: {60 // interval:>2} renders/min = {per_minute:5.2f} CPU s/min"
              f" ({100 * per_minute / 60:4.2f} % of one core)")


if __name__ == "__main__":
    main()
