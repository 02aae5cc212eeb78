"""The README's configuration table is generated from Settings (`prompter config --markdown`) and must match it."""

from pathlib import Path

from service.settings import config_table_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_configuration_table_matches_settings():
    text = README.read_text()
    start, end = "<!-- config-table:start -->", "<!-- config-table:end -->"
    table = text[text.index(start) + len(start) : text.index(end)].strip()
    assert table == config_table_markdown(), "README configuration table is stale: run scripts/update-readme-config"
