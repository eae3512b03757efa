"""How fast `ccprompt sessions` lists a large fleet: 200 sessions with 50 MB transcripts each.

Each transcript is mostly padding (tool results of 8 KB, as real ones carry file contents),
copied in the kernel from one template, then a realistic tail: prompts, replies with usage
and tool calls, an API error. Timed in-process (the listing itself) and as the command a
person runs (interpreter start-up included):
- cold: no index yet, every transcript's tail read and parsed;
- warm: the index is current, nothing has changed (the case of a live view, once a second);
- grown: 10 transcripts have new lines, only those bytes are read.
Usage: .venv/bin/python tests/bench/bench_sessions.py [sessions] [mb_each]   (default 200 50)
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
sys.path.insert(0, str(ROOT / "tests"))

from ccprompt.core.paths import Paths  # noqa: E402
from ccprompt.sources.sessions import index, listing  # noqa: E402
from harness.sessionfiles import iso, reply, tool_result, user_prompt  # noqa: E402

TARGET_WARM_MS = 300


def padding_line(session_id: str, i: int) -> bytes:
    entry = {"parentUuid": None, "isSidechain": False, "type": "user", "sessionId": session_id,
             "timestamp": iso(1_700_000_000 + i), "cwd": "/home/you/src/app",
             "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i}",
                                                      "content": "x" * 8000}]}}
    return (json.dumps(entry, separators=(",", ":")) + "\n").encode()


def make_template(path: Path, size: int) -> None:
    line = padding_line("template", 0)
    with open(path, "wb") as handle:
        written = 0
        block = line * 128
        while written < size:
            handle.write(block)
            written += len(block)


def tail_entries(session_id: str, now: float, k: int) -> list:
    entries = []
    t = now - 600 - k
    for turn in range(40):
        entries.append(user_prompt(t, session_id, "next step"))
        entries.append(reply(t + 3, session_id, input_tokens=6, cache_read=80_000 + turn * 900, cache_write=900,
                             tools=[("Bash", {"command": f"make test-{turn % 3}"}), ("Read", {"file_path": "a.py"})]))
        entries.append(tool_result(t + 5, session_id))
        entries.append(reply(t + 8, session_id, input_tokens=6, cache_read=81_000 + turn * 900, cache_write=300))
        t += 12
    if k % 7 == 0:
        entries.append(user_prompt(now - 30, session_id))  # waiting on the API
    return entries


def build(root: Path, sessions: int, mb_each: int) -> Paths:
    home = root / "home"
    projects = home / ".claude" / "projects"
    template = root / "template.jsonl"
    make_template(template, mb_each << 20)
    size = template.stat().st_size
    now = time.time()
    for k in range(sessions):
        session_id = f"{k:08x}-0000-4000-8000-{k:012x}"
        target = projects / f"-home-you-src-proj{k % 12}" / f"{session_id}.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(template, "rb") as src, open(target, "wb") as dst:
            left = size
            while left > 0:
                left -= os.copy_file_range(src.fileno(), dst.fileno(), left) if hasattr(os, "copy_file_range") \
                    else dst.write(src.read(min(left, 1 << 24)))
            for entry in tail_entries(session_id, now, k):
                dst.write((json.dumps(entry, separators=(",", ":")) + "\n").encode())
    template.unlink()
    return Paths({"HOME": str(home), "CCPROMPT_HOME": str(home / ".claude" / "ccprompt")})


def timed(fn, runs: int = 1) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    sessions = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    mb_each = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    root = Path(tempfile.mkdtemp(prefix="ccprompt-bench-sessions-"))
    try:
        start = time.perf_counter()
        paths = build(root, sessions, mb_each)
        print(f"wrote {sessions} transcripts x {mb_each} MB in {time.perf_counter() - start:.1f}s")
        now = time.time()

        def listed():
            rows = listing.pairs(paths, now, None)
            assert len(rows) == sessions, len(rows)

        cold = timed(listed)
        warm = timed(listed, 9)
        for path, _ in index.discover(paths)[:10]:
            with open(path, "ab") as handle:
                for entry in tail_entries(Path(path).stem, time.time(), 1)[:4]:
                    handle.write((json.dumps(entry, separators=(",", ":")) + "\n").encode())
        grown = timed(listed)
        env = {"CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", ""), "HOME": str(paths.home), "CCPROMPT_HOME": paths.state_dir}

        def command():
            subprocess.run([sys.executable, "-m", "ccprompt", "sessions", "--all", "--json"], env=env, cwd=ROOT,
                           check=True, stdout=subprocess.DEVNULL)

        command_warm = timed(command, 5)
        print(f"list, cold (no index):        {cold:8.1f} ms")
        print(f"list, warm (index current):   {warm:8.1f} ms   target < {TARGET_WARM_MS} ms")
        print(f"list, 10 transcripts grown:   {grown:8.1f} ms")
        print(f"`ccprompt sessions --all --json`, warm, whole process: {command_warm:.1f} ms")
        index_size = os.path.getsize(os.path.join(paths.state_dir, index.INDEX_FILE))
        print(f"index: {index_size / 1024:.0f} KB for {sessions} sessions")
        return 0 if warm < TARGET_WARM_MS else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
