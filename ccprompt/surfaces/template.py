"""A user's jinja2 format string for the status line; only then is jinja2 imported."""

from __future__ import annotations

from ccprompt.core import render
from ccprompt.core.model import MonitorState
from ccprompt.core.text import sanitize


def format_template(template: str, state: MonitorState | None, seg: dict) -> str:
    """Render a user's jinja2 format string; only then is jinja2 imported."""
    import jinja2

    network = state.network if state is not None else None
    context = {
        "segments": seg,
        **seg,
        "status": render.status_of(state),
        "icon": render.ICONS[render.status_of(state)],
        "p95_ms": network.p95_latency_ms if network else None,
        "latency_ms": network.latency_ms if network else None,
        "breakdown": state.breakdown() if state is not None else "",
    }
    environment = jinja2.Environment(autoescape=False, undefined=jinja2.ChainableUndefined)
    text = environment.from_string(template).render(**context)
    # The template is the user's, but the data inside it is not: keep it printable.
    return "\n".join(sanitize(line, 1000) for line in text.splitlines()[:2])
