"""Claude Code transcripts placed where ccprompt looks for them, with timestamps moved to now."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROJECT_DIR = "-home-you-src-app"


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{int(epoch_s * 1000) % 1000:03d}Z"


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def shifted_lines(fixture: str, end_s: float, session_id: str | None = None) -> list:
    """The fixture's entries, parsed, with every timestamp moved so the last one is at `end_s`."""
    entries = [json.loads(line) for line in (FIXTURES / fixture).read_text().splitlines() if line.strip()]
    stamps = [epoch(e["timestamp"]) for e in entries if isinstance(e.get("timestamp"), str)]
    delta = end_s - max(stamps)
    for entry in entries:
        if isinstance(entry.get("timestamp"), str):
            entry["timestamp"] = iso(epoch(entry["timestamp"]) + delta)
        if session_id and "sessionId" in entry:
            entry["sessionId"] = session_id
    return entries


def user_prompt(when_s: float, session_id: str, text: str = "go on") -> dict:
    return {"parentUuid": None, "isSidechain": False, "type": "user", "message": {"role": "user", "content": text},
            "uuid": str(uuid.uuid4()), "timestamp": iso(when_s), "cwd": "/home/you/src/app",
            "sessionId": session_id, "version": "2.1.197"}


def reply(when_s: float, session_id: str, model: str = "claude-opus-4-8", *, input_tokens=6, cache_read=0,
          cache_write=0, cache_1h=0, output=120, tools=(), msg_id: str | None = None) -> dict:
    content = [{"type": "text", "text": "done"}]
    content += [{"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": tool_input}
                for i, (name, tool_input) in enumerate(tools)]
    return {"parentUuid": None, "isSidechain": False, "type": "assistant", "uuid": str(uuid.uuid4()),
            "timestamp": iso(when_s), "sessionId": session_id, "version": "2.1.197", "cwd": "/home/you/src/app",
            "message": {"id": msg_id or f"msg_{uuid.uuid4().hex[:12]}", "type": "message", "role": "assistant",
                        "model": model, "content": content, "stop_reason": "tool_use" if tools else "end_turn",
                        "usage": {"input_tokens": input_tokens, "cache_read_input_tokens": cache_read,
                                  "cache_creation_input_tokens": cache_write, "output_tokens": output,
                                  "cache_creation": {"ephemeral_1h_input_tokens": cache_1h,
                                                     "ephemeral_5m_input_tokens": cache_write - cache_1h}}}}


def tool_result(when_s: float, session_id: str) -> dict:
    return {"parentUuid": None, "isSidechain": False, "type": "user", "uuid": str(uuid.uuid4()),
            "timestamp": iso(when_s), "sessionId": session_id, "cwd": "/home/you/src/app",
            "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_0",
                                                     "content": "ok"}]}}


def transcript_path(env: dict, session_id: str, project_dir: str = PROJECT_DIR) -> Path:
    base = Path(env.get("CLAUDE_CONFIG_DIR") or Path(env["HOME"]) / ".claude")
    path = base / "projects" / project_dir / f"{session_id}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_entries(path: Path, entries: list, mode: str = "w") -> Path:
    with open(path, mode) as handle:
        for entry in entries:
            handle.write(json.dumps(entry, separators=(",", ":")) + "\n")
    return path


def place_transcript(env: dict, fixture: str, *, age_s: float = 20, waiting: bool = False, waiting_s: float = 45,
                     session_id: str | None = None, project_dir: str = PROJECT_DIR, now_s: float | None = None) -> Path:
    """Copy a fixture into `<claude dir>/projects/<project_dir>/`, ending `age_s` ago (or waiting)."""
    now_s = time.time() if now_s is None else now_s
    session_id = session_id or str(uuid.uuid4())
    end = now_s - (waiting_s + 5 if waiting else age_s)
    entries = shifted_lines(fixture, end, session_id)
    if waiting:
        entries.append(user_prompt(now_s - waiting_s, session_id))
    return write_entries(transcript_path(env, session_id, project_dir), entries)
