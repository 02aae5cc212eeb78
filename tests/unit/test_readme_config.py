"""The configuration reference's table is generated from Settings (`prompter config --markdown`) and must match it."""

from pathlib import Path

from service.settings import config_table_markdown

CONFIGURATION_PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "configuration.md"


def test_documented_configuration_table_matches_settings():
    text = CONFIGURATION_PAGE.read_text()
    start, end = "<!-- config-table:start -->", "<!-- config-table:end -->"
    table = text[text.index(start) + len(start) : text.index(end)].strip()
    assert table == config_table_markdown(), (
        "docs/reference/configuration.md's table is stale: run scripts/update-config-table"
    )
