"""Another workspace's reads while hostile diffs run: `python -m bench.diff_isolation`.

Starts `prompter serve` (its own process, SQLite, fake provider), stores two 12 000-line revisions that differ on
every second line (the diff budget's worst case) in one workspace and a labelled prompt in another, then alternates
rounds: `--reads` reads of the other workspace's production prompt on a quiet server, then reads of it while
`--diffs` of those diffs are in flight (each answered 422 `diff_too_large` once its budget is spent). Reports the
reads' median latency per round, quiet and under attack, over one kept-alive connection.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.servers import PrompterServer
from tests.e2e.labels_support import create_template, pin
from tests.unit.diffs.test_budget import hostile

ATTACKER = {"org_id": "evil", "workspace_id": "lab"}
VICTIM = {"org_id": "acme", "workspace_id": "shop"}


def seed(client: httpx.Client) -> tuple[str, dict[str, str]]:
    """The hostile pair and the victim's labelled prompt, as the e2e diff tests store them; the diff's path and query."""
    old, new = hostile(12_000)
    one = create_template(client, "big", old, **ATTACKER)
    two = create_template(client, "big", new, **ATTACKER)
    version = pin(client, create_template(client, "greet", "Hi {{ who }}", **VICTIM)["id"])
    moved = client.put("/api/prompts/greet/labels/production", json={"version_id": version["id"], **VICTIM})
    if moved.status_code != 200:
        raise RuntimeError(f"seeding: the label move answered {moved.status_code}: {moved.text}")
    return f"/api/prompt-templates/{two['id']}/diff", {"against": str(one["id"]), **ATTACKER}


def read(client: httpx.Client) -> float:
    started = time.perf_counter()
    response = client.get("/api/prompts/greet", params=VICTIM)
    took = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"the victim's read answered {response.status_code}: {response.text}")
    return took


def attack(base_url: str, path: str, params: dict[str, str]) -> None:
    with httpx.Client(base_url=base_url, timeout=300) as client:
        response = client.get(path, params=params)
    if response.status_code != 422 or '"diff_too_large"' not in response.text:
        raise RuntimeError(f"a hostile diff answered {response.status_code}: {response.text[:200]}")


def measure(base_url: str, rounds: int, reads: int, diffs: int) -> list[tuple[float, float, int]]:
    """Per round: (quiet median s, median s under attack, reads under attack)."""
    out = []
    with httpx.Client(base_url=base_url, timeout=120) as client:
        path, params = seed(client)
        for _ in range(5):
            read(client)
        for _ in range(rounds):
            quiet = [read(client) for _ in range(reads)]
            with ThreadPoolExecutor(max_workers=diffs) as pool:
                attacks = [pool.submit(attack, base_url, path, params) for _ in range(diffs)]
                busy = []
                while not all(future.done() for future in attacks):
                    busy.append(read(client))
                for future in attacks:
                    future.result()
            out.append((statistics.median(quiet), statistics.median(busy), len(busy)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.diff_isolation", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reads", type=int, default=40, help="quiet reads a round")
    parser.add_argument("--diffs", type=int, default=8, help="hostile diffs in flight a round")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        env = {"PROMPTER_LOG_LEVEL": "WARNING", "DB_URL": f"sqlite:///{directory}/diffs.db"}
        server = PrompterServer("prompter-diffs", env, Path(directory))
        try:
            server.wait_ready()
            rounds = measure(server.base_url, args.rounds, args.reads, args.diffs)
        finally:
            server.stop()
    print(f"python -m bench.diff_isolation --rounds {args.rounds} --reads {args.reads} --diffs {args.diffs}\n")
    print("| round | quiet median ms | median ms, diffs in flight | reads in flight |\n|---|---|---|---|")
    for number, (quiet, busy, count) in enumerate(rounds, 1):
        print(f"| {number} | {quiet * 1e3:.1f} | {busy * 1e3:.1f} | {count} |")
    quiet_all = statistics.median(r[0] for r in rounds) * 1e3
    busy_all = statistics.median(r[1] for r in rounds) * 1e3
    print(f"\nmedian of the rounds: {quiet_all:.1f} ms quiet, {busy_all:.1f} ms with diffs in flight")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
