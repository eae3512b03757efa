"""What the jinja2 sandbox costs a status line with a `format`: sandboxed against plain jinja2.

Each round starts a fresh interpreter (a status line renders once per process) that has
what the status line has already imported, then imports jinja2, builds the environment, compiles the format and renders it once, and reports the
time from before the import to the rendered text; then, in the same process, 200 warm renders.
Baseline: the same steps with `jinja2.Environment` (what formats used before the sandbox),
measured in the same run, rounds interleaved.
Usage: .venv/bin/python tests/bench/bench_format.py [rounds]   (default 30)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORMAT = "{{ icon }} {{ model }} {% if p95_ms %}p95 {{ p95_ms | round | int }}ms{% endif %} {{ network | upper }}"

CHILD = r"""
import json, sys, time
import ccprompt.core.model, ccprompt.core.render, ccprompt.core.text  # the status line has these already
started = time.perf_counter()
import jinja2
kind, fmt = sys.argv[1], sys.argv[2]
if kind == "sandbox":
    from ccprompt.surfaces.template import _environment
    environment = _environment()[0]
else:
    environment = jinja2.Environment(autoescape=False, undefined=jinja2.ChainableUndefined)
context = {"icon": "🟢", "model": "Opus", "p95_ms": 812.4, "network": "API 640ms", "segments": {}}
text = environment.from_string(fmt).render(**context)
cold = time.perf_counter() - started
template = environment.from_string(fmt)
started = time.perf_counter()
for _ in range(200):
    template.render(**context)
warm = (time.perf_counter() - started) / 200
print(json.dumps({"cold": cold, "warm": warm, "text": text}))
"""


def once(kind: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, FORMAT], capture_output=True, text=True,
                         check=True, cwd=str(ROOT))
    return json.loads(out.stdout)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    results = {"plain": [], "sandbox": []}
    for _ in range(rounds):
        for kind in ("plain", "sandbox"):
            results[kind].append(once(kind))
    assert results["plain"][0]["text"] == results["sandbox"][0]["text"], "the two renders differ"
    for measure in ("cold", "warm"):
        plain = statistics.median(r[measure] for r in results["plain"])
        sandbox = statistics.median(r[measure] for r in results["sandbox"])
        unit, scale = ("ms", 1e3) if measure == "cold" else ("µs", 1e6)
        label = "import+compile+render" if measure == "cold" else "one warm render"
        print(f"{label:<22} plain {plain * scale:8.2f} {unit}   sandbox {sandbox * scale:8.2f} {unit}"
              f"   ratio {sandbox / plain:.2f}")


if __name__ == "__main__":
    main()
