from datetime import UTC, datetime

from service.ui import chart

NOW = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)


def test_the_window_starts_on_the_hour_23_hours_before_the_current_one():
    assert chart.window_start(NOW) == datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
    result = chart.activity({}, {}, NOW)
    assert result.bars[0].starts == chart.window_start(NOW)
    assert result.bars[-1].starts == NOW.replace(minute=0) and len(result.bars) == 24


def test_counts_per_hour_and_hours_outside_the_window_are_left_out():
    result = chart.activity({0: 1, 23: 2, 24: 9, -1: 9}, {23: 30.0, 0: 5.0, 24: 99.0}, NOW)
    runs = [bar.runs for bar in result.bars]
    assert runs[0] == 1 and runs[-1] == 2 and sum(runs) == 3
    assert result.total_runs == 3 and result.max_runs == 2 and result.max_p95_ms == 30.0


def test_the_p95_line_has_a_point_per_hour_with_runs():
    result = chart.activity({20: 3, 23: 20}, {20: 8.0, 23: 19.0}, NOW)
    assert result.bars[-1].p95_ms == 19.0 and result.bars[0].p95_ms is None
    assert result.p95_points.count(",") == 2
    slowest_y = float(result.p95_points.split()[1].split(",")[1])
    assert slowest_y == result.plot_top  # the slowest hour touches the top of the plot


def test_tallest_bar_fills_the_plot_and_an_empty_chart_draws_nothing():
    result = chart.activity({23: 2, 22: 1}, {23: 2.0, 22: 3.0}, NOW)
    tallest = result.bars[-1]
    assert tallest.height == result.plot_bottom - result.plot_top
    assert result.bars[-2].height == tallest.height / 2
    empty = chart.activity({}, {}, NOW)
    assert empty.total_runs == 0 and empty.p95_points == "" and all(bar.height == 0 for bar in empty.bars)
