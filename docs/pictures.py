"""Renders docs/statusline.svg from real `ccprompt` runs against the test suite's local TLS API.

    .venv/bin/python docs/pictures.py

Each line is what `ccprompt statusline` (or `ccprompt status`) printed for a real state: probes
against a scripted fake API, and real-shaped transcripts with their times moved to now.
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
        stamp = (now - timedelta(seconds=ago)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
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


def payload(session: str, transcript_path: str | None = None) -> str:
    return json.dumps({
        "session_id": session, "transcript_path": transcript_path,
        "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet 4.5"},
        "workspace": {"current_dir": str(ROOT)}, "cwd": str(ROOT),
        "cost": {"total_cost_usd": 1.29, "total_duration_ms": 600_000},
        "context_window": {"used_percentage": 59, "context_window_size": 200_000},
    })


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="ccprompt-pictures-"))
    (work / "ca").mkdir()
    lines = []
    with FakeAPI(LocalCA.create(work / "ca")) as api:
        env = {**make_cli_env(work, api.url, api.ca_file), "NO_COLOR": "1", "COLUMNS": "120"}
        run(env, "probe", "--count", "6", "--interval", "0")
        lines.append(("healthy", run(env, "statusline", stdin=payload("s-healthy"))))
        waiting = transcript(work, "waiting", [("user", 80, {}), ("assistant", 75, {}), ("user", 45, {})])
        lines.append(("a turn waiting on the API", run(env, "statusline", stdin=payload("s-wait", waiting))))
        api.respond(status=529)
        run(env, "probe")
        lines.append(("the API overloaded", run(env, "statusline", stdin=payload("s-red"))))
        time.sleep(1.1)
        replied = transcript(work, "replied", [("user", 3, {}), ("assistant", 0.5, {})])
        lines.append(("a reply after the outage", run(env, "statusline", stdin=payload("s-back", replied))))
        api.respond(status=200)
        run(env, "probe")
        lines.append(("zsh prompt, short style", run(env, "status", "--style", "short") + " ~/app ❯"))
    from rich.console import Console
    from rich.text import Text

    console = Console(record=True, width=110, force_terminal=True, color_system="truecolor")
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
