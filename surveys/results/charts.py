"""Geometry of the public results page's bar charts: shares with their intervals (no Django).

A chart is a column of rows: a group heading (a cross-tabulation's row category), or a bar with
its label above it. Widths are shares of `PLOT_WIDTH` on a 0-100 scale; a suppressed bar has no
width and no interval, only its label and the word the page puts there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
PLOT_WIDTH = 520  # the rest of the width holds the figure written after each bar
LABEL_HEIGHT = 18
BAR_HEIGHT = 16
HEADING_HEIGHT = 24
GAP = 8


@dataclass(frozen=True)
class Bar:
    """A share (percent, 0-100) with its interval, or a suppressed figure (all None)."""

    label: str
    percent: float | None
    low: float | None
    high: float | None
    suppressed: bool
    heading: bool = False  # a group heading, not a bar
    text: str = ""  # the share as the page writes it after the bar


@dataclass(frozen=True)
class PlacedBar:
    """A bar placed on the chart, in SVG user units."""

    label: str
    label_y: float
    y: float
    width: float
    low_x: float | None
    high_x: float | None
    value_x: float
    text: str | None  # the share written after the bar; None when it is not published
    suppressed: bool
    heading: bool

    @property
    def middle(self) -> float:
        return self.y + BAR_HEIGHT / 2

    @property
    def top(self) -> float:
        return self.y + 2

    @property
    def bottom(self) -> float:
        return self.y + BAR_HEIGHT - 2


@dataclass(frozen=True)
class Chart:
    width: int
    height: float
    bars: tuple[PlacedBar, ...]


def _x(percent: float) -> float:
    return round(PLOT_WIDTH * min(max(percent, 0.0), 100.0) / 100.0, 2)


def bar_chart(bars: Sequence[Bar]) -> Chart:
    """Place `bars` top to bottom: each label on a line of its own, its bar below it."""
    placed = []
    y = 0.0
    for bar in bars:
        if bar.heading:
            placed.append(
                PlacedBar(bar.label, y + HEADING_HEIGHT - 6, y, 0, None, None, 0, None, False, True)
            )
            y += HEADING_HEIGHT
            continue
        label_y = y + LABEL_HEIGHT - 4
        bar_y = y + LABEL_HEIGHT
        shown = bar.percent is not None and not bar.suppressed
        width = _x(bar.percent) if shown and bar.percent is not None else 0.0
        low = _x(bar.low) if shown and bar.low is not None else None
        high = _x(bar.high) if shown and bar.high is not None else None
        value_x = max(width, high or 0.0) + 6
        placed.append(
            PlacedBar(
                bar.label,
                label_y,
                bar_y,
                width,
                low,
                high,
                value_x,
                bar.text if shown else None,
                bar.suppressed,
                False,
            )
        )
        y = bar_y + BAR_HEIGHT + GAP
    return Chart(WIDTH, max(y, 1.0), tuple(placed))
