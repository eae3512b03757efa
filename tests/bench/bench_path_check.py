"""What a path check between baselines costs: CPU of one `ccprompt refresh` that makes it, against
`python -I -c pass`, and proof that it sends no HTTP request.

A path check (DNS, TCP, TLS; nothing sent) is due every `path_interval_s` (20 s) while the API
answers, one per machine whatever the number of shells and sessions (the probe lock). Each run
here makes the state due for one, then times `ccprompt refresh --sync` by its CPU (user + system).
Usage: .venv/bin/python tests/bench/bench_path_check.py [runs]   (default 15)
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from harness import FakeAPI, LocalCA, make_cli_env  # noqa: E402


def cpu_of(argv, env) -> tuple:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(argv, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), result.stdout


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    work = Path(tempfile.mkdtemp(prefix="ccprompt-bench-"))
    with FakeAPI(LocalCA.create(work)) as api:
        env = make_cli_env(work, api.url, api.ca_file)
        subprocess.run([sys.executable, "-m", "ccprompt", "refresh", "--sync"], env=env, check=True,
                       capture_output=True)
        home = Path(env["CCPROMPT_HOME"])
        requests_before = api.request_count
        checks, base = [], []
        for _ in range(runs):
            state = json.loads((home / "monitoring.json").read_text())
            state["monitoring_state"]["last_path_epoch_ms"] = 0
            state["monitoring_state"]["last_probe_epoch_ms"] = int(time.time() * 1000) - 30_000
            for path in [home / "monitoring.json", *home.glob("endpoints/*.json")]:
                path.write_text(json.dumps(state))
            base.append(cpu_of([sys.executable, "-I", "-c", "pass"], env)[0])
            seconds, said = cpu_of([sys.executable, "-m", "ccprompt", "refresh", "--sync"], env)
            assert said.startswith("PATH"), said
            checks.append(seconds)
        sent = api.request_count - requests_before
    check, b = statistics.median(checks), statistics.median(base)
    print(f"path check refresh CPU median {check * 1000:5.0f} ms   python -I -c pass {b * 1000:4.0f} ms"
          f"   ratio {check / b:.2f}x   n={runs}")
    print(f"every 20 s: {3 * check:.2f} CPU s/min ({100 * 3 * check / 60:.2f} % of one core), per machine")
    print(f"HTTP requests the path checks sent: {sent} (expected 0)")


if __name__ == "__main__":
    main()
