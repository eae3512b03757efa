"""`ccprompt statusline` on a 2.1.332-shaped session with a 50 MB transcript, against `python -IS -c pass`.

The transcript is built from the real 2.1.332 entries (tests/fixtures): turns with their
attachments, request shapes and `api-request` lines, repeated to 50 MB, ending in a reply
and the 64 KB `prompt_snapshot` written after it. The render runs the lean launcher that
install.sh writes (`python -IS`), against a local TLS fake API, with a fresh state and
nothing due. The baseline is this interpreter's `python -IS -c pass` (the launcher's own
flags), each measured run paired with a baseline run right before it.
  steady        nothing appended since the last render
  5 MB append   a 5 MB tool result (and its first attempt) appended before each render
  in-process    the transcript reader's own work per steady render (read + the status line's view)
With valgrind installed it also counts the instructions of one steady render and of one
render after a 5 MB line, against `python -IS -c pass` (callgrind: the figure does not move
with the machine's load, which wall times on a shared machine do).
Usage: .venv/bin/python tests/bench/bench_statusline_transcript.py [runs]   (default 40)
"""

from __future__ import annotations

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

from bench_statusline import timed, wait_idle  # noqa: E402
from harness import FakeAPI, LocalCA, make_cli_env  # noqa: E402

from ccprompt import launcher  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
SIZE = 50 << 20


def stamp(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s)) + f".{int(epoch_s * 1000) % 1000:03d}Z"


def compact(entry: dict, at_s: float | None = None) -> bytes:
    if at_s is not None and "timestamp" in entry:
        entry = {**entry, "timestamp": stamp(at_s)}
    return json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def build_transcript(path: Path) -> None:
    """50 MB of real 2.1.332 turns, ending in a reply and the 64 KB snapshot after it."""
    entries = [json.loads(line) for line in (FIXTURES / "transcript-cc-2.1.332-529.jsonl").read_text().splitlines()]
    turn = b"".join(compact(e) for e in entries[:25])  # a prompt, 91 KB of bookkeeping, a reply, the snapshot
    with open(path, "wb") as handle:
        while handle.tell() < SIZE - len(turn):
            handle.write(turn)
        now = time.time()
        handle.write(b"".join(compact(e, now - 20) for e in entries[:22]))
        handle.write(b"".join(compact(e, now - 19) for e in entries[22:25]))  # ends in the 64 KB snapshot


def reply(at_s: float) -> bytes:
    entries = [json.loads(line) for line in (FIXTURES / "transcript-cc-2.1.332-529.jsonl").read_text().splitlines()]
    return compact(entries[22], at_s)


def tool_result(at_s: float, size: int) -> bytes:
    entry = {"parentUuid": "p", "isSidechain": False, "type": "user", "timestamp": stamp(at_s),
             "message": {"role": "user", "content": [{"tool_use_id": "toolu_1", "type": "tool_result",
                                                      "content": "x" * size}]},
             "toolUseResult": {"stdout": "y" * 64, "stderr": "", "interrupted": False}}
    return compact(entry)


def in_process_us(path: Path, memory: Path, runs: int = 300) -> tuple[float, float]:
    """(median µs of a steady reading, median µs of its first reading, from the end) in this process."""
    from ccprompt.sources import transcript

    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        stats = transcript.Stats()
        transcript.to_scan(transcript.read(str(path), str(memory), stats), time.time(), 600, stats)
        samples.append(time.perf_counter() - started)
        assert stats.how == "unchanged", stats.how
    first = []
    for _ in range(20):
        started = time.perf_counter()
        transcript.to_scan(transcript.read(str(path), None), time.time(), 600)
        first.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6, statistics.median(first) * 1e6


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    work = Path(tempfile.mkdtemp(prefix="ccprompt-bench-"))
    (work / "ca").mkdir()
    exe = work / "ccprompt"
    launcher.write(str(exe), sys.executable)
    ca = LocalCA.create(work / "ca")
    session = work / "project"
    session.mkdir()
    path = session / "78dad6de-5565-4bd9-bbfc-304419d2fc72.jsonl"
    build_transcript(path)
    payload = json.loads((FIXTURES / "stdin-cc-2.1.332.json").read_text())
    payload.update(transcript_path=str(path), cwd=str(session))
    payload["workspace"] = {"current_dir": str(session), "project_dir": str(session)}
    stdin_bytes = json.dumps(payload).encode()
    baseline_argv = [sys.executable, "-I", "-S", "-c", "pass"]
    with FakeAPI(ca) as api:
        env = {**make_cli_env(work, api.url, api.ca_file), "COLUMNS": "120"}
        home = Path(env["CCPROMPT_HOME"])
        subprocess.run([str(exe), "statusline", "--sync"], input=stdin_bytes, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        wait_idle(home)
        line = subprocess.run([str(exe), "statusline"], input=stdin_bytes.decode(), env=env, check=True,
                              capture_output=True, text=True).stdout.strip()
        base_steady, steady = [], []
        for _ in range(runs):
            base_steady.append(timed(baseline_argv, env))
            steady.append(timed([str(exe), "statusline"], env, stdin_bytes))
        probes = api.request_count
        counted = None
        if shutil.which("valgrind"):  # one steady render and one after a 5 MB line, counted
            from bench_statusline_instructions import instructions

            base_count = instructions(baseline_argv, env)
            steady_count = instructions([str(exe), "statusline"], env, stdin_bytes)
            with open(path, "ab") as handle:
                handle.write(tool_result(time.time(), 5 << 20))
            append_count = instructions([str(exe), "statusline"], env, stdin_bytes)
            with open(path, "ab") as handle:
                handle.write(reply(time.time()))
            subprocess.run([str(exe), "statusline"], input=stdin_bytes, env=env, check=True, stdout=subprocess.DEVNULL)
            counted = (base_count, steady_count, append_count)
        base_append, append = [], []
        for _ in range(runs):
            with open(path, "ab") as handle:  # a tool's 5 MB answer, its request, and the reply to it
                handle.write(tool_result(time.time(), 5 << 20))
                handle.write(b'{"type":"api-request","timestamp":"' + stamp(time.time()).encode() + b'"}\n')
                handle.write(reply(time.time()))
            base_append.append(timed(baseline_argv, env))
            append.append(timed([str(exe), "statusline"], env, stdin_bytes))
            wait_idle(home)
        after = subprocess.run([str(exe), "statusline"], input=stdin_bytes.decode(), env=env, check=True,
                               capture_output=True, text=True).stdout.strip()
        probes_during_steady = probes - 1
    steady_us, first_us = in_process_us(path, home / "transcripts")
    print(f"transcript: {path.stat().st_size / 1e6:.1f} MB at the end (50 MB + {runs} x 5 MB appended)")
    print(f"line, steady:        {line}")
    print(f"line, after appends: {after}")
    for name, samples, base in (("steady render", steady, base_steady),
                                ("after a 5 MB line", append, base_append)):
        median, base_median = statistics.median(samples), statistics.median(base)
        print(f"{name:<18} median {median * 1000:6.2f} ms   python -IS -c pass {base_median * 1000:6.2f} ms"
              f"   ratio {median / base_median:.2f}x   n={len(samples)}")
    print(f"transcript work per steady render (in process): {steady_us:.0f} µs;"
          f" a first reading from the end of the 50 MB file: {first_us:.0f} µs")
    print(f"probes during the steady renders: {probes_during_steady} (expected 0)")
    if counted:
        base_count, steady_count, append_count = counted
        for name, count in (("steady render", steady_count), ("after a 5 MB line", append_count)):
            print(f"{name:<18} {count / 1e6:6.1f} M instructions   python -IS -c pass {base_count / 1e6:5.1f} M"
                  f"   ratio {count / base_count:.2f}x")


if __name__ == "__main__":
    main()
