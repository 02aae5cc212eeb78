from datetime import UTC, datetime, timedelta

from service.ui import chart

NOW = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)


def test_runs_land_in_their_hour_and_old_ones_are_left_out():
    timings = [
        (NOW - timedelta(minutes=5), 10.0),  # current hour (12:00)
        (NOW - timedelta(minutes=20), 30.0),
        (NOW - timedelta(hours=23, minutes=20), 5.0),  # 13:10 yesterday: the first bucket
        (NOW - timedelta(hours=30), 99.0),  # outside the window
    ]
    result = chart.activity(timings, NOW)
    runs = [bar.runs for bar in result.bars]
    assert len(runs) == 24 and runs[-1] == 2 and runs[0] == 1 and sum(runs) == 3
    assert result.bars[0].starts == datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
    assert result.total_runs == 3 and result.max_runs == 2


def test_p95_is_nearest_rank_per_hour():
    assert chart.p95([float(v) for v in range(1, 101)]) == 95.0
    assert chart.p95([7.0]) == 7.0
    result = chart.activity([(NOW, float(v)) for v in range(1, 21)], NOW)
    assert result.bars[-1].p95_ms == 19.0
    assert result.max_p95_ms == 19.0 and result.p95_points.count(",") == 1


def test_tallest_bar_fills_the_plot_and_an_empty_chart_draws_nothing():
    result = chart.activity([(NOW, 1.0), (NOW, 2.0), (NOW - timedelta(hours=1), 3.0)], NOW)
    tallest = result.bars[-1]
    assert tallest.height == result.plot_bottom - result.plot_top
    assert result.bars[-2].height == tallest.height / 2
    empty = chart.activity([], NOW)
    assert empty.total_runs == 0 and empty.p95_points == "" and all(bar.height == 0 for bar in empty.bars)
