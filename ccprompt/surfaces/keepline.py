"""`statusline --keep`: run the user's own statusLine command and append ccprompt's network segment.

`install statusline --keep` points Claude Code at this instead of replacing a status line
someone already likes (ccstatusline, CCometixLine, a script of their own). Their command
gets the same session JSON on stdin; its first line gets the segment; its other lines pass
through. Their command failing or hanging (past 3 s) still leaves our segment.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading

THEIR_TIMEOUT_S = 3.0
SEPARATOR = " | "


def their_command(env=None) -> str | None:
    """The statusLine command `install statusline --keep` wrapped, if there is one."""
    from ccprompt.surfaces.replaced_statusline import remembered

    entry = remembered(env)
    command = entry.get("command") if isinstance(entry, dict) else None
    return command if isinstance(command, str) and command.strip() else None


def our_segment(raw: bytes, env=None) -> str:
    """The network segment for this session JSON, through the status line's own code."""
    from ccprompt.surfaces import statusline

    read_fd, write_fd = os.pipe()

    def feed():
        try:
            os.write(write_fd, raw) if len(raw) < 65536 else [os.write(write_fd, raw[i:i + 65536])
                                                              for i in range(0, len(raw), 65536)]
        except OSError:
            pass
        finally:
            os.close(write_fd)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    out = io.StringIO()
    try:
        statusline.run(["--segment", "network"], stdin_fd=read_fd, out=out, env=env)
    finally:
        feeder.join(1.0)
        os.close(read_fd)
    return out.getvalue().rstrip("\n")


def run_theirs(command: str, raw: bytes) -> str:
    try:
        done = subprocess.run(command, shell=True, input=raw, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              timeout=THEIR_TIMEOUT_S, start_new_session=True)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.decode("utf-8", "replace").rstrip("\n")


def main(env=None) -> int:
    """Always a line, always exit 0, like the status line itself."""
    from ccprompt.core.files import read_pipe

    try:
        raw = read_pipe(0)
        command = their_command(env)
        theirs = run_theirs(command, raw) if command else ""
        ours = our_segment(raw, env)
        lines = theirs.split("\n") if theirs else []
        if lines and lines[0].strip():
            lines[0] = f"{lines[0]}{SEPARATOR}{ours}"
        else:
            lines[:1] = [ours]
        sys.stdout.write("\n".join(lines) + "\n")
    except Exception:
        sys.stdout.write("⚪ ccprompt: keep failed\n")
    sys.stdout.flush()
    return 0
