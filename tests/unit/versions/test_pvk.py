from service.providers.base import GenerationParams
from service.versions.pvk import params_key, prompt_version_key

BASE = dict(
    content_hash="sha256:abc", provider="openai", model_id="gpt-4o", params={}, captured={"system_fingerprint": "fp_1"}
)


def test_pvk_is_stable_and_sha256_prefixed():
    key = prompt_version_key(**BASE)
    assert key == prompt_version_key(**BASE)
    assert key.startswith("sha256:") and len(key) == 71


def test_every_component_changes_the_key():
    base = prompt_version_key(**BASE)
    variants = [
        {"content_hash": "sha256:abd"},
        {"provider": "google"},
        {"model_id": "gpt-4o-mini"},
        {"params": {"temperature": 0.5}},
        {"captured": {"system_fingerprint": "fp_2"}},
    ]
    keys = {prompt_version_key(**{**BASE, **variant}) for variant in variants}
    assert base not in keys and len(keys) == len(variants)


def test_param_key_order_does_not_matter():
    assert prompt_version_key(**{**BASE, "params": {"a": 1, "b": 2}}) == prompt_version_key(
        **{**BASE, "params": {"b": 2, "a": 1}}
    )


def test_equal_params_canonicalise_to_one_key():
    # temperature 1 and 1.0 are the same request; unset params are absent, not null.
    one = GenerationParams(temperature=1).as_dict()
    one_float = GenerationParams(temperature=1.0).as_dict()
    assert one == one_float == {"temperature": 1.0}
    assert params_key(one) == params_key(one_float)
    assert GenerationParams().as_dict() == {}
