"""How long `ccprompt probe` takes against a local TLS API, compared with `curl -w` doing the same POST.

Prints medians for: curl (one process, one request), `ccprompt probe --no-write` (a whole
CLI run, interpreter and imports included), and the probe alone inside one process (the
libcurl request and its bookkeeping), each as a ratio to curl.
Usage: .venv/bin/python tests/bench/bench_probe.py [runs]   (default 30)
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from harness import FakeAPI, LocalCA, make_cli_env  # noqa: E402

from ccprompt import credentials, launcher, probe  # noqa: E402


def timed(argv, env) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    curl = shutil.which("curl")
    if not curl:
        sys.exit("curl is not installed")
    work = Path(tempfile.mkdtemp(prefix="ccprompt-bench-"))
    (work / "ca").mkdir()
    exe = work / "ccprompt"
    launcher.write(str(exe), sys.executable)
    with FakeAPI(LocalCA.create(work / "ca")) as api:
        env = make_cli_env(work, api.url, api.ca_file)
        body = '{"model":"claude-haiku-4-5","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}'
        curl_argv = [curl, "-s", "-o", "/dev/null", "--cacert", api.ca_file, "-X", "POST", api.messages_url,
                     "-H", "content-type: application/json", "-H", "anthropic-version: 2023-06-01",
                     "-H", "x-api-key: @bench", "-d", body,
                     "-w", "dns=%{time_namelookup} connect=%{time_connect} tls=%{time_appconnect} "
                           "ttfb=%{time_starttransfer} total=%{time_total}\n"]
        curl_times = [timed(curl_argv, env) for _ in range(runs)]
        cli_times = [timed([str(exe), "probe", "--no-write"], env) for _ in range(runs)]
        credential = credentials.resolve(env)
        in_process = []
        for _ in range(runs):
            started = time.perf_counter()
            outcome = probe.run(credential, model="claude-haiku-4-5", timeout_ms=3000, env=env)
            in_process.append(time.perf_counter() - started)
            assert outcome.http_status == 200, outcome
        sample = subprocess.run(curl_argv, env=env, capture_output=True, text=True).stdout.strip()
    base = statistics.median(curl_times)
    print(f"curl -w (same POST)            median {base * 1000:7.1f} ms  (1.00x)   e.g. {sample}")
    for name, samples in (("ccprompt probe (whole CLI)", cli_times), ("probe.run in one process", in_process)):
        median = statistics.median(samples)
        print(f"{name:<30} median {median * 1000:7.1f} ms  ({median / base:.2f}x)   n={runs}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
