"""Renders docs/statusline.svg: what the status line shows in each state a user meets.

    .venv/bin/python docs/pictures.py

Each line is what `ccprompt statusline` (or `ccprompt status`) printed for a real state: probes
of the test suite's local fake API on 127.0.0.1 (so the timings are a few milliseconds, where the
real API takes hundreds), real-shaped transcripts with their times moved to now, and a host that
does not resolve. The directory is `webapp` on branch `feature/login`, so the two segments read
as two things.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from harness import FakeAPI, LocalCA, make_cli_env  # noqa: E402


def run(env, *args, stdin=None) -> str:
    result = subprocess.run([sys.executable, "-m", "ccprompt", *args], input=stdin, env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    return result.stdout.rstrip("\n")


def transcript(work: Path, name: str, entries: list) -> str:
    """A transcript whose entries end `ago` seconds before now (each entry: (kind, ago_s, extra))."""
    path = work / f"{name}.jsonl"
    now = datetime.now(timezone.utc)
    lines = []
    for kind, ago, extra in entries:
        moment = now - timedelta(seconds=ago)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        entry = {"type": kind, "timestamp": stamp, "sessionId": name}
        if kind == "user":
            entry["message"] = {"role": "user", "content": "fix the flaky test"}
        else:
            entry["message"] = {"role": "assistant", "model": "claude-sonnet-4-5",
                                "content": [{"type": "text", "text": "Done."}],
                                "usage": {"input_tokens": 12, "cache_read_input_tokens": 118000,
                                          "cache_creation_input_tokens": 900, "output_tokens": 40}}
        entry.update(extra)
        lines.append(json.dumps(entry))
    path.write_text("\n".join(lines) + "\n")
    return str(path)


PROJECT = {"dir": str(ROOT)}
FIXTURE_332 = ROOT / "tests" / "fixtures" / "transcript-cc-2.1.332-529.jsonl"


def project(work: Path) -> str:
    """A git repository named webapp on branch feature/login."""
    path = work / "webapp"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "feature/login", str(path)], check=True)
    return str(path)


def retrying(work: Path, attempts: int) -> str:
    """A 2.1.332 transcript: a prompt sent 38 s ago and Claude Code's `attempts` tries at it."""
    entries = [json.loads(line) for line in FIXTURE_332.read_text().splitlines()]
    sent = time.time() - 38
    chosen = entries[:17] + [entries[17]] * attempts
    out = []
    for i, entry in enumerate(chosen):
        entry = dict(entry)
        if "timestamp" in entry:
            at = sent + (i - 16) * 6 if i >= 17 else sent
            entry["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(at))
        out.append(json.dumps(entry, separators=(",", ":")))
    path = work / "retrying.jsonl"
    path.write_text("\n".join(out) + "\n")
    return str(path)


def payload(session: str, transcript_path: str | None = None) -> str:
    return json.dumps({
        "session_id": session, "transcript_path": transcript_path,
        "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet 4.5"},
        "workspace": {"current_dir": PROJECT["dir"]}, "cwd": PROJECT["dir"],
        "cost": {"total_cost_usd": 1.29, "total_duration_ms": 600_000},
        "context_window": {"used_percentage": 59, "context_window_size": 200_000},
    })


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="ccprompt-pictures-"))
    (work / "ca").mkdir()
    PROJECT["dir"] = project(work)
    lines = []
    with FakeAPI(LocalCA.create(work / "ca")) as api:
        env = {**make_cli_env(work, api.url, api.ca_file), "NO_COLOR": "1", "COLUMNS": "140"}
        run(env, "probe", "--count", "6", "--interval", "0")
        lines.append(("healthy", run(env, "statusline", stdin=payload("s-healthy"))))
        api.respond(status=200, delay_s=0.5)
        run(env, "probe")
        run(env, "probe")
        lines.append(("slow: two probes in a row well past the usual", run(env, "statusline", stdin=payload("s-slow"))))
        api.respond(status=200)
        run(env, "probe", "--count", "2", "--interval", "0")
        waiting = transcript(work, "waiting", [("user", 80, {}), ("assistant", 75, {}), ("user", 45, {})])
        lines.append(("a turn waiting on the API", run(env, "statusline", stdin=payload("s-wait", waiting))))
        api.respond(status=529)
        run(env, "probe")
        lines.append(("the API overloaded", run(env, "statusline", stdin=payload("s-red"))))
        time.sleep(1.1)
        replied = transcript(work, "replied", [("user", 3, {}), ("assistant", 0.5, {})])
        lines.append(("a reply after the outage", run(env, "statusline", stdin=payload("s-back", replied))))
        dns = {**env, "ANTHROPIC_BASE_URL": "https://api.ccprompt.invalid"}
        run(dns, "probe")
        lines.append(("your DNS fails", run(dns, "statusline", stdin=payload("s-dns"))))
        api.respond(status=200)
        run(env, "probe")
        lines.append(("Claude Code retrying a turn", run(env, "statusline", stdin=payload("s-retry", retrying(work, 3)))))
        keyless = {k: v for k, v in make_cli_env(work / "keyless", api.url, api.ca_file, api_key=None).items()}
        keyless.update(NO_COLOR="1", COLUMNS="140")
        run(keyless, "probe")
        waiting = transcript(work, "keyless", [("user", 80, {}), ("assistant", 75, {}), ("user", 45, {})])
        lines.append(("no API key: a turn waiting", run(keyless, "statusline", stdin=payload("s-keyless", waiting))))
        run(env, "probe")
        lines.append(("zsh prompt, short style", run(env, "status", "--style", "short") + " ~/webapp ❯"))
    from rich.console import Console
    from rich.text import Text

    console = Console(record=True, width=132, force_terminal=True, color_system="truecolor")
    colours = {"🟢": "green", "🟡": "yellow", "🔴": "red", "⚪": "bright_black"}
    for label, line in lines:
        console.print(Text(f"# {label}", style="dim"))
        text = Text(line)
        for icon, colour in colours.items():
            at = line.find(icon)
            if at >= 0:
                text.stylize(colour, at)
        console.print(text)
    (ROOT / "docs" / "statusline.svg").write_text(console.export_svg(title="ccprompt"))
    for label, line in lines:
        print(f"{label}: {line}")


if __name__ == "__main__":
    main()
