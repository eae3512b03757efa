"""`ccprompt snippet NAME`: print a snippet shipped in the package (starship, tmux, the POSIX
prompt reader, the systemd and launchd units), so pip, pipx and uv installs have them too."""

from __future__ import annotations

import os
import sys

FILES = {
    "starship": "starship.toml",
    "tmux": "tmux.conf",
    "posix": "ccprompt-prompt.sh",
    "watch.service": "ccprompt-watch.service",
    "proxy.service": "ccprompt-proxy.service",
    "watch.plist": "com.ccprompt.watch.plist",
    "proxy.plist": "com.ccprompt.proxy.plist",
}
WHAT = {
    "starship": "a [custom.ccprompt] module for starship.toml",
    "tmux": "lines for ~/.tmux.conf: the segment in status-right",
    "posix": "the POSIX prompt reader: . it from any sh-like shell's rc file",
    "watch.service": "systemd user unit for `ccprompt watch` (~/.config/systemd/user/)",
    "proxy.service": "systemd user unit for `ccprompt proxy`",
    "watch.plist": "launchd agent for `ccprompt watch` (~/Library/LaunchAgents/; replace __HOME__)",
    "proxy.plist": "launchd agent for `ccprompt proxy`",
}


def snippets_dir() -> str:
    """`ccprompt/snippets` in an installed wheel, `<checkout>/shell` in a source tree."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    installed = os.path.join(package, "snippets")
    if os.path.isdir(installed):
        return installed
    return os.path.join(os.path.dirname(package), "shell")


def snippet(name: str | None = None) -> int:
    if name is None:
        width = max(map(len, FILES))
        sys.stdout.write("".join(f"{n:<{width}}  {WHAT[n]}\n" for n in FILES))
        sys.stdout.write("\nccprompt snippet NAME prints one; e.g. ccprompt snippet tmux >> ~/.tmux.conf\n")
        return 0
    with open(os.path.join(snippets_dir(), FILES[name]), encoding="utf-8") as handle:
        sys.stdout.write(handle.read())
    return 0
