"""The `prompter` command: serve, migrate, keys, observations, config, check-dashboard."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from service import __version__
from service.cli import keys as auth_cli
from service.cli import observations as observations_cli
from service.cli import preflight
from service.settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prompter", description="Prompter prompt-template registry")
    parser.add_argument("--version", action="version", version=f"prompter {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP API (uvicorn, one process)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="processes (needs PROMPTER_METRICS_EXPORT=otlp if > 1)")

    commands.add_parser("migrate", help="apply database migrations (DB_URL) up to the newest")
    auth_cli.add_commands(commands)
    observations_cli.add_commands(commands)
    config = commands.add_parser("config", help="show the effective configuration (secrets masked)")
    config.add_argument("--markdown", action="store_true", help="print the configuration table of the docs instead")
    check = commands.add_parser(
        "check-dashboard", help="show, panel by panel, which panels of the Grafana rollout dashboard have data"
    )
    check.add_argument("--prometheus", required=True, metavar="URL", help="e.g. http://localhost:9090")
    check.add_argument("--dashboard", metavar="FILE", help="default: grafana/dashboards/prompter-rollout.json")
    check.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="template variable value (a regex, default .*), e.g. --var service=prompter-api --var env=prod",
    )

    args = parser.parse_args(argv)
    if args.command == "check-dashboard":  # talks to Prometheus only: no Settings needed
        from service.cli import dashboard_check

        return dashboard_check.run(args.prometheus, args.dashboard, args.var)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"prompter: configuration refused: {exc}", file=sys.stderr)
        return 2
    if args.command == "config":
        return _config(settings, markdown=args.markdown)
    try:
        if args.command == "serve":
            return _serve(settings, args.host, args.port, args.workers)
        if args.command == "migrate":
            return _migrate(settings)
        if args.command == "keys":
            asyncio.run(preflight.check_database(settings))
            return auth_cli.run(args, settings)
        if args.command == "observations":
            asyncio.run(preflight.check_database(settings))
            return observations_cli.run(args, settings)
    except preflight.StartupFailure as failure:
        print(f"prompter {args.command}: {failure}", file=sys.stderr)
        return 1
    return 2


def _serve(settings: Settings, host: str, port: int, workers: int) -> int:
    from service.cli import serve
    from telemetry.json_logs import uvicorn_log_config

    if workers > 1 and settings.telemetry.metrics_export != "otlp" and settings.telemetry.enabled:
        print(
            "prompter serve: --workers > 1 refused. With the Prometheus pull exporter each worker process keeps its own "
            "counters, and every scrape of the shared port reaches one random worker: counters jump back and forth "
            "and rates are wrong. Scale out with more single-process replicas (one scrape target each), or set "
            "PROMPTER_METRICS_EXPORT=otlp with OTEL_EXPORTER_OTLP_ENDPOINT so each worker pushes its own series.",
            file=sys.stderr,
        )
        return 2
    # Everything that can fail before serving fails here, as one line: the same checks inside uvicorn's lifespan end
    # in a traceback (Litestar hands uvicorn the formatted exception) and exit code 3.
    preflight.check_port(host, port)
    asyncio.run(preflight.check_database(settings))
    # uvicorn drains on SIGTERM, then re-raises the signal under the handler installed before it ran, so by default
    # the process dies "killed by SIGTERM" (143) even after a clean drain; orchestrators log that as a failure.
    signal.signal(signal.SIGTERM, _exit_after_drain)
    serve.run(settings, host, port, workers, uvicorn_log_config(settings.telemetry.log_level))
    return 0


def _config(settings: Settings, *, markdown: bool) -> int:
    from sqlalchemy.engine import make_url

    from service.settings import config_table_markdown

    if markdown:
        print(config_table_markdown())
        return 0
    for env, value, secret in settings.values():
        if value is not None and secret:
            value = "***"
        elif isinstance(value, str) and "://" in value:
            value = make_url(value).render_as_string(hide_password=True)  # DB_URL, REDIS_URL may carry passwords
        elif isinstance(value, bool):
            value = str(value).lower()  # the spelling the variable accepts
        print(f"{env}={'' if value is None else value}")
    return 0


def _exit_after_drain(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _migrate(settings: Settings) -> int:
    from service.db.migrate import migrate

    preflight.check_sqlite_directory(settings.db.url)
    try:
        asyncio.run(migrate(settings))
    except Exception as exc:  # noqa: BLE001 - one line with the driver's cause, not a traceback
        raise preflight.StartupFailure(preflight.describe_database_error(exc, settings.db.url)) from None
    print("migrations applied")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
