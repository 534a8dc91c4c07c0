"""Chart geometry for the workbench's templates (SVG drawn by the template, no JavaScript)."""

from __future__ import annotations

from typing import Any

from surveys.statistics.dashboard import Timeline

_CHART_HEIGHT = 160
_CHART_LEFT = 40
_CHART_BOTTOM = 22


def timeline_chart(timeline: Timeline) -> dict[str, Any]:
    """Bar geometry of the responses-over-time chart (SVG user units, drawn by the template)."""
    # Wide enough that the chart keeps a landscape shape however many periods it shows.
    slot = min(40.0, max(4.0, 760 / max(len(timeline.periods), 1)))
    # A floor on the width keeps a chart of a few days from being scaled up to fill the page.
    width = max(round(_CHART_LEFT + max(len(timeline.periods), 1) * slot + 10), 600)
    peak = max(timeline.peak, 1)
    scale = _CHART_HEIGHT / peak
    bars = []
    for index, period in enumerate(timeline.periods):
        x = _CHART_LEFT + index * slot
        started_h = round(period.started * scale, 1)
        completed_h = round(period.completed * scale, 1)
        bars.append(
            {
                "period": period,
                "x": round(x + slot * 0.1, 1),
                "w": round(slot * 0.8, 1),
                "inner_x": round(x + slot * 0.3, 1),
                "inner_w": round(slot * 0.4, 1),
                "started_y": round(_CHART_HEIGHT - started_h, 1),
                "started_h": started_h,
                "completed_y": round(_CHART_HEIGHT - completed_h, 1),
                "completed_h": completed_h,
            }
        )
    ticks = []
    if timeline.periods:
        picks = sorted({0, len(timeline.periods) // 2, len(timeline.periods) - 1})
        for index in picks:
            ticks.append(
                {
                    "x": round(_CHART_LEFT + index * slot + slot / 2, 1),
                    "label": timeline.periods[index].start.strftime("%d %b"),
                }
            )
    return {
        "width": width,
        "height": _CHART_HEIGHT + _CHART_BOTTOM,
        "plot_height": _CHART_HEIGHT,
        "left": _CHART_LEFT,
        "right": width - 5,
        "peak": timeline.peak,
        "half": timeline.peak / 2,
        "half_y": _CHART_HEIGHT / 2,
        "label_y": _CHART_HEIGHT + 16,
        "bars": bars,
        "ticks": ticks,
    }
