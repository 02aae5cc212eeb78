"""The retiring rules that need no database (service/archive/rules.py)."""

from __future__ import annotations

import pytest

from service.archive import rules


def test_the_narrowest_archived_part_is_named():
    assert rules.archived_part(name_archived=True, revision_archived=True, version_archived=True) == "version"
    assert rules.archived_part(name_archived=True, revision_archived=True, version_archived=False) == "revision"
    assert rules.archived_part(name_archived=True, revision_archived=False, version_archived=False) == "name"
    assert rules.archived_part(name_archived=False, revision_archived=False, version_archived=False) is None


def test_a_labelled_refusal_names_every_label_sorted():
    error = rules.refuse_labelled(rules.VERSION, "version 3 of 'greet'", ["staging", "production"])
    assert error.code == "archive_labelled" and error.extra["labels"] == ["production", "staging"]
    assert "'production', 'staging'" in error.detail or "'staging', 'production'" in error.detail


@pytest.mark.parametrize("confirm", [None, "", "Greet", "greet ", "gree"])
def test_deleting_needs_the_exact_name(confirm):
    with pytest.raises(rules.ConfirmationRequired) as refused:
        rules.check_confirmation("greet", confirm)
    assert "?confirm=greet" in refused.value.detail


def test_the_exact_name_confirms():
    rules.check_confirmation("greet", "greet")
