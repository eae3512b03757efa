#!/usr/bin/env python3
"""Prints what ccprompt costs a shell: the prompt hook in µs per prompt, and `init` against Python's start.

    python tests/bench/bench_prompt.py [--calls 1000] [--rounds 7] [--init-runs 30] [--session]

Per-prompt cost: each shell sources the init script (default style, refresh on) with a
fresh prompt cache, then runs one prompt's worth of ccprompt work CALLS times in a loop.
The same loop doing nothing else is the baseline; (loop - baseline) / CALLS is the cost of
one prompt. With --session, a Claude Code session's file is there too (a warm cache, a
turn waiting), so every prompt also counts down CCPROMPT_CACHE and CCPROMPT_SESSION.
Each figure is the best of ROUNDS runs, in wall-clock and in CPU time (user +
system, so a busy machine inflates it less). For fish a prompt is the hook plus the wrapped
prompt function, minus the user's own prompt function.

Init: `python -m ccprompt init zsh` (cache warm, as at every shell start after the first),
median of INIT_RUNS, as a ratio to `python -I -c pass` on the same interpreter.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests"))

from ccprompt.surfaces.shell import init as shells  # noqa: E402
from harness.states import write_prompt_cache  # noqa: E402

TARGET_US = 200
TARGET_INIT_RATIO = 2.0
SHELL_ARGV = {"bash": ["bash", "--noprofile", "--norc"], "zsh": ["zsh", "-f"], "fish": ["fish", "--no-config", "--private"]}


def run_timed(argv, env):
    """(wall seconds, CPU seconds) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.stderr:  # the exit status is that of the last prompt function; errors show here
        raise SystemExit(f"benchmark shell failed: {result.stderr.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def loop_program(shell, setup, body, calls):
    if shell == "fish":
        numbers = " ".join(str(i) for i in range(calls))  # `seq` would fork
        return f"{setup}\nfor i in {numbers}\n{body}\nend\n"
    return f"{setup}\nfor ((i = 0; i < {calls}; i++)); do\n{body}\ndone\n"


def per_prompt_us(shell, script, position, calls, rounds, env):
    user_prompt = "function fish_prompt; printf '> '; end\nfunction fish_right_prompt; printf '<'; end"
    if shell == "fish":
        setup = f"{user_prompt}\nsource {script}"
        target = {"left": "fish_prompt", "right": "fish_right_prompt", "title": "fish_title", "none": None}[position]
        body = "__ccprompt_hook" + (f"; {target}" if target else "")
        baseline_setup = user_prompt + "\nfunction fish_title; printf 't'; end"
        baseline_body = target or "true"
    else:
        setup = f"PS1='me> '\nsource {script}"
        body = {"bash": "__ccprompt_hook", "zsh": "__ccprompt_precmd"}[shell]
        baseline_setup, baseline_body = "PS1='me> '", ":"
    walls, cpus = [], []
    for _ in range(rounds):
        full = run_timed(SHELL_ARGV[shell] + ["-c", loop_program(shell, setup, body, calls)], env)
        base = run_timed(SHELL_ARGV[shell] + ["-c", loop_program(shell, baseline_setup, baseline_body, calls)], env)
        walls.append((full[0] - base[0]) / calls * 1e6)
        cpus.append((full[1] - base[1]) / calls * 1e6)
    return min(walls), min(cpus)


def median_ms(argv, runs, env, cwd):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--init-runs", type=int, default=30)
    parser.add_argument("--session", action="store_true", help="with a live session file")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="ccprompt-bench-")
    home = os.path.join(work, "state")
    calls_log = os.path.join(work, "refresh-calls")
    exe = os.path.join(work, "ccprompt")
    with open(exe, "w") as handle:
        handle.write(f'#!/bin/sh\necho "$@" >> "{calls_log}"\n')
    os.chmod(exe, 0o755)
    env = {"CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", os.defpath), "HOME": work, "LANG": "C.UTF-8", "TERM": "dumb",
           "CCPROMPT_HOME": home}
    ok = True

    print(f"ccprompt prompt hook: cost per prompt, fresh cache{', live session file' if args.session else ''}, "
          f"{args.calls} calls, best of {args.rounds} rounds")
    print(f"  {'shell':<6} {'position':<9} {'wall µs':>9} {'CPU µs':>9}   target")
    for shell in shells.SHELLS:
        if shutil.which(shell) is None:
            print(f"  {shell:<6} (not installed)")
            continue
        for position in shells.POSITIONS:
            script = os.path.join(work, f"init-{position}.{shell}")
            with open(script, "w", encoding="utf-8") as handle:
                handle.write(shells.render_script(shell, position, "short", True, 300, [exe], home))
            # Fresh for the whole run: the probe time is now.
            write_prompt_cache(home, {"status": "healthy", "network": {"latency_ms": 470, "p95_latency_ms": 450},
                                     "monitoring_state": {"last_probe_epoch_ms": int(time.time() * 1000)}})
            if args.session:
                now = int(time.time())
                with open(os.path.join(home, "prompt-session"), "w", encoding="utf-8") as handle:
                    handle.write(f"ccprompt-session v1\n1:2:3:\n{now}\n{now + 3000}\nctx 87% · ~2 turns to compact\n"
                                 f"{now - 45}\n\n")
            wall, cpu = per_prompt_us(shell, script, position, args.calls, args.rounds, env)
            if shell in ("bash", "zsh"):
                passed = wall < TARGET_US
                ok &= passed
                verdict = f"< {TARGET_US} µs  {'PASS' if passed else 'FAIL'}"
            else:
                verdict = "(no target)"
            print(f"  {shell:<6} {position:<9} {wall:9.1f} {cpu:9.1f}   {verdict}")
    started = os.path.exists(calls_log)
    print(f"  refreshes started with a fresh cache: {0 if not started else len(open(calls_log).read().splitlines())}")
    ok &= not started

    python = sys.executable
    init_env = dict(env)
    subprocess.run([python, "-m", "ccprompt", "init", "zsh"], env=init_env, cwd=REPO,
                   stdout=subprocess.DEVNULL, check=True)  # the first call renders and caches
    interpreter = median_ms([python, "-I", "-c", "pass"], args.init_runs, init_env, REPO)
    init = median_ms([python, "-m", "ccprompt", "init", "zsh"], args.init_runs, init_env, REPO)
    ratio = init / interpreter
    passed = ratio < TARGET_INIT_RATIO
    ok &= passed
    print()
    print(f"ccprompt init zsh: median of {args.init_runs} runs, {python}")
    print(f"  python -I -c pass            {interpreter:7.1f} ms")
    print(f"  python -m ccprompt init zsh  {init:7.1f} ms   ratio {ratio:.2f}x   target < {TARGET_INIT_RATIO:.0f}x  "
          f"{'PASS' if passed else 'FAIL'}")
    installed = shutil.which("ccprompt")
    if installed:
        subprocess.run([installed, "init", "zsh"], env=init_env, stdout=subprocess.DEVNULL, check=True)
        launcher = median_ms([installed, "init", "zsh"], args.init_runs, init_env, REPO)
        print(f"  {installed} init zsh  {launcher:7.1f} ms   ratio {launcher / interpreter:.2f}x")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
