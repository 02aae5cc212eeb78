"""bench/scenarios.py is the one table bench/run.py and bench/report.py read: the report judges the targets the table
gives, and re-judging the committed raw rounds (bench/results/results.json) reaches the committed verdicts."""

from __future__ import annotations

import json
from pathlib import Path

from bench import report, run, scenarios

RESULTS = Path(__file__).resolve().parents[3] / "bench" / "results" / "results.json"


def test_the_report_rejudges_the_committed_rounds_to_the_committed_verdicts() -> None:
    doc = json.loads(RESULTS.read_text())
    rounds = {s["key"]: {c: v["rounds"] for c, v in s["configs"].items()} for s in doc["scenarios"]}
    table = scenarios.scenarios(8, 1)
    rebuilt = report.build(
        meta=doc["meta"],
        scenarios=[s for s in table if s.key in rounds],
        all_scenarios=table,
        results=rounds,
        skipped={},
        micro=doc["micro"],
        sink={},
        sent={},
        redis={},
        log_findings={},
        provider_calls=doc["provider_calls"],
    )
    assert [(t["target"], t["status"]) for t in rebuilt["targets"]] == [
        (t["target"], t["status"]) for t in doc["targets"]
    ]
    assert rebuilt["scenarios"] == doc["scenarios"]


def test_a_scenario_that_did_not_run_lists_its_ratio_targets_as_not_measured() -> None:
    table = scenarios.scenarios(8, 1)
    judged = scenarios.judge({}, table)
    assert judged and all(row["status"] == "n/a" and row["measured"] == "not measured" for row in judged)
    assert {row["target"] for row in judged} >= {"metrics only >= 97% of telemetry-off RPS on run_pg"}


def test_every_module_of_the_table_gets_a_skip_flag() -> None:
    args = run.parse_args(["--no-" + m.name.replace("_", "-") for m in scenarios.MODULES])
    assert all(getattr(args, f"no_{m.name}") for m in scenarios.MODULES)
