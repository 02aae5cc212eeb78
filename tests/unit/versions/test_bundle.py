"""The bundle in the version key: absent, the key is the one versions always had; present, it is part of the key in
canonical form, and part of the lineage drift is measured in."""

import hashlib
import json

import pytest

from service.http.errors import Unprocessable
from service.providers.base import GenerationParams
from service.versions.bundle import NO_BUNDLE, check_bundle
from service.versions.pvk import params_key, prompt_version_key

BASE = dict(
    content_hash="sha256:abc", provider="openai", model_id="gpt-4o", params={}, captured={"system_fingerprint": "fp_1"}
)
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
FORMAT = {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}}


def _old_pvk(**fields):
    """The formula of versions created before bundles existed."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def test_without_a_bundle_the_key_and_the_lineage_are_unchanged():
    assert prompt_version_key(**BASE) == prompt_version_key(**BASE, bundle=NO_BUNDLE.as_dict()) == _old_pvk(**BASE)
    assert params_key({"temperature": 0.5}, {}) == params_key({"temperature": 0.5})


def test_every_part_of_the_bundle_changes_the_key_and_key_order_does_not():
    bundles = [
        check_bundle([TOOL], None, None, max_schema_bytes=10_000),
        check_bundle([TOOL], "required", None, max_schema_bytes=10_000),
        check_bundle(None, None, FORMAT, max_schema_bytes=10_000),
    ]
    keys = {prompt_version_key(**BASE, bundle=b.as_dict()) for b in bundles}
    assert len(keys) == 3 and prompt_version_key(**BASE) not in keys
    reordered = {"json_schema": {"schema": {"type": "object"}, "name": "a"}, "type": "json_schema"}
    same = check_bundle(None, None, reordered, max_schema_bytes=10_000)
    assert prompt_version_key(**BASE, bundle=same.as_dict()) == prompt_version_key(**BASE, bundle=bundles[2].as_dict())
    assert params_key({}, bundles[0].as_dict()) != params_key({})


def test_new_params_are_keyed_only_when_set():
    assert GenerationParams(stop=("\n",), presence_penalty=0.5).as_dict() == {"stop": ["\n"], "presence_penalty": 0.5}
    assert GenerationParams(**GenerationParams(stop=("x",)).as_dict()).stop == ("x",)  # read back from a JSON row


@pytest.mark.parametrize(
    "tools,choice,fmt,path",
    [
        ([{"type": "function", "function": {"name": "bad name"}}], None, None, "tools[0].function.name"),
        ([TOOL, TOOL], None, None, "tools[1].function.name"),
        ([TOOL], "sometimes", None, "tool_choice"),
        (None, None, {"type": "json_schema", "json_schema": {"name": "a"}}, "response_format.json_schema.schema"),
        (
            None,
            None,
            {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": 1}}},
            "response_format.json_schema.schema.type",
        ),
    ],
)
def test_malformed_bundles_name_the_path(tools, choice, fmt, path):
    with pytest.raises(Unprocessable) as raised:
        check_bundle(tools, choice, fmt, max_schema_bytes=10_000)
    assert raised.value.extra["path"] == path
