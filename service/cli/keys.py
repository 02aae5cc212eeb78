"""`prompter keys create|list|revoke`: manage API keys directly in the database named by DB_URL."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from service.auth.principal import ROLES
from service.auth.service import KeyService
from service.cli.preflight import describe_database_error
from service.db.engine import create_engine, session_factory, unit_of_work
from service.errors import PrompterError
from service.settings import Settings


def add_commands(commands: Any) -> None:
    keys = commands.add_parser("keys", help="manage API keys (PROMPTER_AUTH=required)")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    create = actions.add_parser("create", help="create a key; the key is printed once and stored hashed")
    create.add_argument("--org", required=True)
    create.add_argument("--workspace", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--label", default=None, help="a note for `keys list` (who or what uses the key)")
    actions.add_parser("list", help="list keys (ids, tenants, roles; never the secrets)")
    revoke = actions.add_parser("revoke", help="revoke a key by its id; takes effect on the next request")
    revoke.add_argument("key_id")


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        return asyncio.run(_run(args, settings))
    except PrompterError as error:
        print(f"prompter keys: {error.detail}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a database failure is one line with its cause, not a traceback
        print(f"prompter keys: {describe_database_error(exc, settings.db.url)}", file=sys.stderr)
        return 1


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    engine = create_engine(settings)
    try:
        async with unit_of_work(session_factory(engine)) as session:
            keys = KeyService(session)
            if args.keys_command == "create":
                token, row = await keys.create(
                    org_id=args.org, workspace_id=args.workspace, role=args.role, label=args.label
                )
                print(f"key id:    {row.key_id}\ntenant:    {row.org_id}/{row.workspace_id}\nrole:      {row.role}")
                print(f"api key:   {token}\n(shown once: store it now; only a hash is kept)")
            elif args.keys_command == "list":
                for row in await keys.list():
                    state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
                    print(f"{row.key_id}  {row.org_id}/{row.workspace_id}  {row.role:5}  {state}  {row.label or ''}")
            else:
                row = await keys.revoke(args.key_id)
                print(f"revoked {row.key_id} ({row.org_id}/{row.workspace_id})")
        return 0
    finally:
        await engine.dispose()
