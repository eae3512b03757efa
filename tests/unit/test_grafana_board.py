"""The Grafana board is valid JSON and asks only for series ccprompt exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BOARD = ROOT / "docs" / "grafana" / "ccprompt.json"


def exported_names() -> set:
    names = set()
    for module in ("ops/metrics.py", "ops/fleet.py"):
        text = (ROOT / "ccprompt" / module).read_text()
        names |= set(re.findall(r'"(ccprompt_[a-z0-9_]+)"', text))
    histograms = {n for n in names if n.endswith("_seconds") and "ttfb" in n}
    return names | {f"{n}_bucket" for n in histograms}


def test_every_panel_queries_an_exported_series():
    board = json.loads(BOARD.read_text())
    assert board["uid"] == "ccprompt"
    names = exported_names()
    titles = set()
    for panel in board["panels"]:
        titles.add(panel["title"])
        for target in panel.get("targets", []):
            used = set(re.findall(r"\bccprompt_[a-z0-9_]+", target["expr"]))
            assert used and used <= names, (panel["title"], used - names)
    for needed in ("API answering", "TTFB through the proxy (p50, p95)", "API errors by type (proxy)",
                   "Sessions by state", "Prompt cache hit ratio (last reply)", "Context use (largest, % of window)"):
        assert needed in titles
