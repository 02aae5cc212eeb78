"""The per-prompt activity chart: runs per hour (bars) and p95 latency (line) over the last 24 hours, as geometry that
the template draws as inline SVG. No chart library: 24 bars and a polyline. The numbers come from the database
(RunService.hourly_activity), so a prompt with thousands of runs a day costs no more to draw than a quiet one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

HOURS = 24
WIDTH, HEIGHT = 720, 160
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 52, 12, 22


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    runs: int
    p95_ms: float | None
    starts: datetime


@dataclass(frozen=True, slots=True)
class Chart:
    bars: list[Bar]
    p95_points: str  # SVG polyline points, "x,y x,y ..."; empty when no hour had a run
    max_runs: int
    max_p95_ms: float
    total_runs: int
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = PAD_LEFT
    plot_right: int = WIDTH - PAD_RIGHT
    plot_top: int = PAD_TOP
    plot_bottom: int = HEIGHT - PAD_BOTTOM


def window_start(now: datetime) -> datetime:
    """The first bucket starts on the hour, 23 whole hours before the current one."""
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)


def activity(counts_by_hour: dict[int, int], p95_by_hour: dict[int, float], now: datetime) -> Chart:
    """Both maps are keyed by whole hours since `window_start(now)` (0 = the first bar); the database computed them."""
    start = window_start(now)
    counts = [counts_by_hour.get(hour, 0) for hour in range(HOURS)]
    p95s = [p95_by_hour.get(hour) for hour in range(HOURS)]
    max_runs = max(counts) or 1
    max_p95 = max((value for value in p95s if value is not None), default=0.0) or 1.0
    plot_width = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_height = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = plot_width / HOURS
    bars, points = [], []
    for hour, (count, hour_p95) in enumerate(zip(counts, p95s, strict=True)):
        height = plot_height * count / max_runs
        x = PAD_LEFT + hour * slot
        bars.append(
            Bar(
                x=round(x + 1, 1),
                y=round(PAD_TOP + plot_height - height, 1),
                width=round(slot - 2, 1),
                height=round(height, 1),
                runs=count,
                p95_ms=hour_p95,
                starts=start + timedelta(hours=hour),
            )
        )
        if hour_p95 is not None:
            y = PAD_TOP + plot_height - plot_height * hour_p95 / max_p95
            points.append(f"{x + slot / 2:.1f},{y:.1f}")
    return Chart(
        bars=bars,
        p95_points=" ".join(points),
        max_runs=max(counts),
        max_p95_ms=max_p95 if any(p is not None for p in p95s) else 0.0,
        total_runs=sum(counts),
    )
