"""Reading a /metrics scrape the way Prometheus does: parse it, refuse duplicate families, look up exact series."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


@dataclass
class Scrape:
    text: str
    families: dict[str, object]
    samples: list[Sample]

    def series(self, name: str) -> list[dict[str, str]]:
        """Label sets of every sample named `name` (e.g. `starlette_requests_total`, `..._seconds_count`)."""
        return [s.labels for s in self.samples if s.name == name]

    def value(self, name: str, **labels: str) -> float | None:
        """The value of the one sample whose labels are exactly `labels` (service/env included), or None."""
        found = [s.value for s in self.samples if s.name == name and s.labels == labels]
        assert len(found) <= 1, f"{name}{labels} appears {len(found)} times"
        return found[0] if found else None

    def sample_names(self) -> set[str]:
        return {s.name for s in self.samples}


def parse(text: str) -> Scrape:
    """Parse a Prometheus text exposition. Two families with one name (two instruments mapped to one Prometheus name)
    break a real scrape; the Python parser tolerates them, so they are refused here."""
    # The parser silently merges a repeated family into one, so the TYPE lines are checked first.
    typed = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]
    repeated = sorted({name for name in typed if typed.count(name) > 1})
    assert not repeated, f"two metric families share a name: {repeated}"
    families: dict[str, object] = {}
    samples: list[Sample] = []
    for family in text_string_to_metric_families(text):
        assert family.name not in families, f"two metric families are both named {family.name!r}"
        families[family.name] = family
        samples.extend(family.samples)
    return Scrape(text, families, samples)


def promtool_check(text: str) -> subprocess.CompletedProcess[str] | None:
    """`promtool check metrics` (Prometheus' own parser and linter) over the exposition, or None when not installed."""
    promtool = shutil.which("promtool")
    if promtool is None:
        return None
    return subprocess.run(
        [promtool, "check", "metrics"], check=False, input=text, capture_output=True, text=True, timeout=30
    )
