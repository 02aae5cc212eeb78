import logging

from telemetry.export_logs import OncePerWindow


def _record(level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("x", level, __file__, 1, "Failed to export spans batch", None, None)


def test_first_failure_passes_repeats_are_counted_then_reported():
    quiet = OncePerWindow(window_s=60)
    assert quiet.filter(_record()) is True
    assert [quiet.filter(_record(logging.ERROR)) for _ in range(5)] == [False] * 5
    assert quiet.suppressed == 5
    assert quiet.filter(_record(logging.DEBUG)) is True  # below WARNING is never touched

    quiet._window_start -= 61  # the window has passed
    record = _record()
    assert quiet.filter(record) is True
    assert "5 similar export failures suppressed" in record.getMessage()
    assert quiet.suppressed == 0


def test_each_new_app_starts_a_fresh_window():
    from telemetry.export_logs import EXPORTER_LOGGERS, quiet_exporter_logs

    quiet_exporter_logs()
    logger = logging.getLogger(EXPORTER_LOGGERS[0])
    first = next(f for f in logger.filters if isinstance(f, OncePerWindow))
    first.filter(_record())
    quiet_exporter_logs()
    filters = [f for f in logger.filters if isinstance(f, OncePerWindow)]
    assert len(filters) == 1 and filters[0] is not first
    assert filters[0].filter(_record()) is True
