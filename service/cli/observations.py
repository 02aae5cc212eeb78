"""`prompter observations prune [--older-than 30d]`: delete observations older than the retention period."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from datetime import timedelta
from typing import Any

from service.cli.preflight import describe_database_error
from service.db.engine import create_engine, session_factory, unit_of_work
from service.observations.service import prune_observations
from service.settings import Settings

_AGE = re.compile(r"^([1-9][0-9]{0,5})([hd])$")


def age(text: str) -> timedelta:
    match = _AGE.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an age: a number and h or d, e.g. 30d or 12h")
    value = int(match.group(1))
    return timedelta(hours=value) if match.group(2) == "h" else timedelta(days=value)


def add_commands(commands: Any) -> None:
    observations = commands.add_parser("observations", help="manage reported observations")
    actions = observations.add_subparsers(dest="observations_command", required=True)
    prune = actions.add_parser("prune", help="delete observations older than the retention period")
    prune.add_argument(
        "--older-than",
        type=age,
        default=None,
        metavar="AGE",
        help="e.g. 30d or 12h (default: PROMPTER_OBSERVATIONS_RETENTION_DAYS)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    older_than = args.older_than or timedelta(days=settings.observations.retention_days)
    try:
        deleted = asyncio.run(_prune(settings, older_than))
    except Exception as exc:  # noqa: BLE001 - a database failure is one line with its cause, not a traceback
        print(f"prompter observations: {describe_database_error(exc, settings.db.url)}", file=sys.stderr)
        return 1
    print(f"deleted {deleted} observations received more than {older_than} ago")
    return 0


async def _prune(settings: Settings, older_than: timedelta) -> int:
    engine = create_engine(settings)
    try:
        async with unit_of_work(session_factory(engine)) as session:
            return await prune_observations(session, older_than)
    finally:
        await engine.dispose()
