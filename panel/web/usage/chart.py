"""Server-side SVG geometry for usage history charts: no JavaScript, no inline styles (CSP).

The template draws the result with SVG presentation attributes only.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from panel.services.limits import format_bytes

WIDTH, HEIGHT = 800, 220
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 10, 30  # margins for the axis labels


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    label: str
    anchor: str = "end"  # SVG text-anchor: start, middle or end


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    coordinates: list[tuple[float, float]]
    limit_y: float | None  # the horizontal line of the quota or pool, if any
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    left: int = LEFT
    bottom: float = HEIGHT - BOTTOM

    @property
    def points(self) -> str:
        """The `points` attribute of <polyline>: "x,y x,y ..."."""
        return " ".join(f"{x},{y}" for x, y in self.coordinates)


def history_chart(days: Sequence[date], values: Sequence[int], limit: int | None = None) -> Chart:
    """A line of `values` (bytes) over `days`, scaled to fit the limit line when there is one."""
    top = max([*values, limit or 0, 1])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = max((days[-1] - days[0]).days, 1) if days else 1

    def x(day: date) -> float:
        return round(LEFT + plot_w * (day - days[0]).days / span, 1)

    def y(value: int) -> float:
        return round(TOP + plot_h * (1 - value / top), 1)

    coordinates = [(x(day), y(value)) for day, value in zip(days, values, strict=True)]
    y_ticks = [Tick(LEFT - 5, y(top * share // 4), format_bytes(top * share // 4)) for share in range(5)]
    ends = sorted({days[0], days[-1]}) if days else []  # the first label starts at the axis, the last ends at the edge
    x_ticks = [Tick(x(day), HEIGHT - BOTTOM + 18, day.strftime("%m-%d"), "start" if day == days[0] else "end")
               for day in ends]
    return Chart(WIDTH, HEIGHT, coordinates, y(limit) if limit else None, y_ticks, x_ticks)
