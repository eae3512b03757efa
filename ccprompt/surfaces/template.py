"""A user's jinja2 format string for the status line; only then is jinja2 imported.

Formats render in jinja2's `ImmutableSandboxedEnvironment`, whatever their source: no
attribute that starts with `_` (so no `__globals__`, `__class__`, `__mro__`), no method
that changes a value, `str.format` checked like an attribute, and a refused access stops
the render with a `(format refused: …)` note instead of rendering as empty.
"""

from __future__ import annotations

from ccprompt.core import render
from ccprompt.core.model import MonitorState
from ccprompt.core.text import sanitize

# A format makes one short line: a repeated string or a power past these is refused. The
# result is bounded too, so a chain (`"x" * 1000 * 1000 * 1000`, `((9 ** 64) ** 64) ** 64`)
# cannot grow past them one step at a time.
MAX_REPEAT = 1000
MAX_EXPONENT = 64
MAX_ITEMS = 10 * MAX_REPEAT
MAX_BITS = MAX_EXPONENT * 64


def _environment():
    import jinja2
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class FormatSandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset(("*", "**"))

        def unsafe_undefined(self, obj, attribute):
            raise SecurityError(f"{attribute!r} is not allowed in a format")

        def call_binop(self, context, operator, left, right):
            if operator == "*":
                for count, other in ((left, right), (right, left)):
                    if isinstance(count, int) and isinstance(other, (str, list, tuple)) and (
                            count > MAX_REPEAT or count * len(other) > MAX_ITEMS):
                        raise SecurityError(f"repeating more than {MAX_REPEAT} times or past {MAX_ITEMS} "
                                            "items is not allowed in a format")
            elif isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"a power above {MAX_EXPONENT} is not allowed in a format")
            elif isinstance(left, int) and isinstance(right, int) and left.bit_length() * right > MAX_BITS:
                raise SecurityError(f"a power past {MAX_BITS} bits is not allowed in a format")
            return super().call_binop(context, operator, left, right)

    return FormatSandbox(autoescape=False, undefined=jinja2.ChainableUndefined), SecurityError


def format_template(template: str, state: MonitorState | None, seg: dict) -> str:
    """Render a user's jinja2 format string in the sandbox; a refused access is named, not run."""
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
    environment, refused = _environment()
    try:
        text = environment.from_string(template).render(**context)
    except refused as exc:
        return f"{seg['network']} (format refused: {sanitize(exc, 80)})"
    # The template is the user's, but the data inside it is not: keep it printable.
    return "\n".join(sanitize(line, 1000) for line in text.splitlines()[:2])
