"""The one price table: US dollars per million tokens, by model name prefix. Update it here.

Cache prices follow the API's fixed multipliers of the input price: a 5-minute cache write
costs 1.25x, a 1-hour write 2x, a cache read 0.1x. The first matching prefix wins, so more
specific prefixes come first. A model that matches nothing is left unpriced, never guessed.
"""

from __future__ import annotations

# (model prefix, input $/MTok, output $/MTok). Checked 2026-12-04: the 5.5 models' prices are
# what Claude Code's own cost figures work out to (its `cost_usd` and the transcript's
# `cost-state` lines); the others are the API's list prices.
PRICES = (
    ("claude-opus-5", 4.0, 20.0),
    ("claude-sonnet-5", 2.0, 10.0),
    ("claude-opus-4-1", 15.0, 75.0),
    ("claude-opus-4-0", 15.0, 75.0),
    ("claude-opus-4-2025", 15.0, 75.0),
    ("claude-3-opus", 15.0, 75.0),
    ("claude-opus", 5.0, 25.0),
    ("claude-sonnet", 3.0, 15.0),
    ("claude-3-7-sonnet", 3.0, 15.0),
    ("claude-3-5-sonnet", 3.0, 15.0),
    ("claude-haiku", 1.0, 5.0),
    ("claude-3-5-haiku", 0.8, 4.0),
    ("claude-3-haiku", 0.25, 1.25),
)
CACHE_WRITE_5M = 1.25
CACHE_WRITE_1H = 2.0
CACHE_READ = 0.1


def price_of(model) -> tuple | None:
    """(input, output) $/MTok for a model id such as `claude-opus-4-8[1m]`, or None when unknown."""
    if not isinstance(model, str):
        return None
    name = model.lower().split("[", 1)[0].strip()
    for prefix, input_price, output_price in PRICES:
        if name.startswith(prefix):
            return input_price, output_price
    return None


def cost_usd(model, input_tokens=0, output_tokens=0, cache_read=0, cache_write_5m=0, cache_write_1h=0):
    """The estimated cost of one reply's usage, or None when the model has no price."""
    price = price_of(model)
    if price is None:
        return None
    per_input, per_output = price[0] / 1e6, price[1] / 1e6
    return (input_tokens * per_input + output_tokens * per_output + cache_read * per_input * CACHE_READ
            + cache_write_5m * per_input * CACHE_WRITE_5M + cache_write_1h * per_input * CACHE_WRITE_1H)
