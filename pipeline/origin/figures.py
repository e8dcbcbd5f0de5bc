"""How amounts and percentages are shown: two decimals, rounded half up (INTERFACES.md).

Comparisons with thresholds always use the unrounded values; only the text is rounded.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


def two_places(value: Decimal) -> Decimal:
    """``value`` rounded half up to two decimals, for display."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def show(value: Decimal) -> str:
    """``value`` as text with two decimals, such as ``81.25``."""
    return f"{two_places(value):f}"


def share(part: Decimal, whole: Decimal) -> Decimal:
    """``part`` as a percentage of ``whole``, unrounded."""
    return part / whole * HUNDRED
