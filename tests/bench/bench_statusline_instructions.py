"""Instructions one steady `ccprompt statusline` render executes, against `python -I -c pass`.

Counted under valgrind's callgrind, so the figure does not move with the machine's load
(wall times on a shared machine do). The baseline is `python -I -c pass` in a new
virtualenv of the same interpreter. The render runs the lean launcher install.sh writes,
on a fresh state with nothing due, in three setups:
  steady          the default layout, COLUMNS unset
  COLUMNS=120     as Claude Code runs it
  shell hooked    `ccprompt init` has run, so the session file is checked on each render
  API's own URL   as Claude Code runs it for most users: CLAUDECODE=1 and no ANTHROPIC_BASE_URL
                  (the state for https://api.anthropic.com is seeded from the local one's)
Usage: .venv/bin/python tests/bench/bench_statusline_instructions.py   (needs valgrind)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from bench_statusline import baseline_python, render_setup  # noqa: E402
from harness import FakeAPI, make_cli_env  # noqa: E402


def instructions(argv, env, stdin_bytes=None) -> int:
    out = tempfile.mktemp(prefix="callgrind-")
    try:
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv], input=stdin_bytes,
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=300)
        match = re.search(r"^summary:\s*(\d+)", Path(out).read_text(), re.M)
        return int(match.group(1))
    finally:
        os.unlink(out) if os.path.exists(out) else None


def default_endpoint_env(env: dict) -> dict:
    """Claude Code's environment without ANTHROPIC_BASE_URL, and a fresh healthy state for the API's URL."""
    from ccprompt.core.paths import Paths

    inside = {k: v for k, v in env.items() if k != "ANTHROPIC_BASE_URL"}
    inside.update(CLAUDECODE="1", COLUMNS="120")
    paths = Paths(inside)
    state = json.loads(Path(paths.endpoint_state_file(env["ANTHROPIC_BASE_URL"].rstrip("/") + "/v1/messages"))
                       .read_text())
    state["api_config"]["endpoint"] = "https://api.anthropic.com/v1/messages"
    for target in (paths.endpoint_state_file(state["api_config"]["endpoint"]), paths.state_file):
        Path(target).write_text(json.dumps(state))
    return inside


def main() -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    work = Path(tempfile.mkdtemp(prefix="ccprompt-bench-"))
    exe, ca, payload = render_setup(work)
    stdin_bytes = json.dumps(payload).encode()
    with FakeAPI(ca) as api:
        env = make_cli_env(work, api.url, api.ca_file)
        subprocess.run([str(exe), "statusline", "--sync"], input=stdin_bytes, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        base = instructions([baseline_python(work), "-I", "-c", "pass"], env)
        rows = [("steady", env)]
        rows.append(("COLUMNS=120", {**env, "COLUMNS": "120"}))
        rows.append(("shell hooked", {**env, "COLUMNS": "120"}))
        rows.append(("API's own URL", default_endpoint_env(env)))
        for name, run_env in rows:
            if name == "shell hooked":
                subprocess.run([str(exe), "init", "bash"], env=env, check=True, stdout=subprocess.DEVNULL)
                subprocess.run([str(exe), "statusline"], input=stdin_bytes, env=run_env, check=True,
                               stdout=subprocess.DEVNULL)  # writes the session file once
            count = instructions([str(exe), "statusline"], run_env, stdin_bytes)
            print(f"{name:<14} {count / 1e6:6.1f} M instructions   python -I -c pass {base / 1e6:5.1f} M"
                  f"   ratio {count / base:.2f}x")


if __name__ == "__main__":
    main()
