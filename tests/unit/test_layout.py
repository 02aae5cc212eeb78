"""The shape the code keeps: telemetry stays behind the port, each allow-list exists once, and the
benchmark modules import each other without cycles. Static checks over the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROVIDERS = {"openai", "anthropic", "google"}
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def literal_sets(path: Path) -> list[set[str]]:
    """String literals written together as a set, list or tuple: how an allow-list is spelled. (Per-provider wiring
    tables keyed by name, such as the registry's adapters, are not a second allow-list.)"""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Set | ast.List | ast.Tuple):
            found.append({e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)})
    return found


def test_domain_code_writes_no_span_names_or_attributes_itself():
    """Span names, gen_ai.* keys and span.set_attribute(s) belong to telemetry/ (the port, telemetry/events.py), which
    guards every SDK call. That domain code imports nothing from OpenTelemetry is a contract (tests/unit/test_layers.py);
    this covers what an import check cannot see: names written as strings, spans opened by name."""
    offenders = []
    for path in sources("service"):
        text = path.read_text()
        for needle in (
            '"gen_ai.',
            "'gen_ai.",
            ".set_attribute(",
            ".set_attributes(",
            ".span(",
            "start_span(",
            '"prompter.label.',
        ):
            if needle in text:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offenders == []


def test_the_provider_allow_list_and_the_http_methods_are_written_once():
    providers = [p for p in sources("service", "telemetry") if any(s >= PROVIDERS for s in literal_sets(p))]
    methods = [p for p in sources("service", "telemetry") if any(s >= METHODS for s in literal_sets(p))]
    assert [str(p.relative_to(ROOT)) for p in providers] == ["service/vocabulary.py"]
    assert [str(p.relative_to(ROOT)) for p in methods] == ["telemetry/contract.py"]


def test_bench_modules_have_no_import_cycle():
    graph: dict[str, set[str]] = {}
    for path in sources("bench"):
        module = f"bench.{path.stem}"
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):  # function-level (lazy) imports count too
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "bench":
                    imported |= {f"bench.{alias.name}" for alias in node.names}
                elif node.module.startswith("bench."):
                    imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names if alias.name.startswith("bench.")}
        graph[module] = imported - {module}

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    return [*path, nxt]
                if nxt not in path:
                    stack.append((nxt, [*path, nxt]))
        return None

    cycles = [c for c in (cycle_from(m) for m in graph) if c]
    assert cycles == []
