"""Keep label values bounded: an unbounded label (raw paths, arbitrary model ids) explodes Prometheus' series count.

Model ids are the one label whose values come from callers. Three rules keep a caller from choosing them:
- **reported for a pinned version, not typed**: an id enters the label set only when a version is pinned to it, that
  is when the provider answered the ensure-version probe for it, or a run's completion was pinned as a version
  (`admit_model`, called by the port). A request for an id alone (a failed call, a typo) never admits it: until
  admitted, an id is reported as `other`.
- **a share per workspace**: one org/workspace may admit at most `MODEL_ID_TENANT_LIMIT` ids of the
  `MODEL_ID_LABEL_LIMIT` slots, so one tenant pinning many ids cannot push another tenant's real model into `other`.
- **an explicit allow-list wins** (`PROMPTER_METRIC_MODELS`): when set, exactly those ids are labelled by name and
  nothing else is ever admitted. Use it where the fake LLM answers (it accepts any id) or when /metrics readers must
  not learn which models other tenants call.
"""

from __future__ import annotations

from collections.abc import Iterable

from telemetry.contract import MODEL_ID_LABEL_LIMIT, MODEL_ID_TENANT_LIMIT, OTHER

MAX_LABEL_CHARS = 100


class LabelBounds:
    def __init__(
        self,
        providers: Iterable[str] = (),
        model_id_limit: int = MODEL_ID_LABEL_LIMIT,
        allowed_models: Iterable[str] | None = None,
        tenant_limit: int = MODEL_ID_TENANT_LIMIT,
        label_names: Iterable[str] = (),
    ) -> None:
        # The service's provider allow-list (service/providers/base.py PROVIDERS), handed in by the app: telemetry does
        # not keep a copy of it.
        self._providers = frozenset(providers)
        self._limit = model_id_limit
        self._fixed = allowed_models is not None
        self._model_ids: set[str] = {m for m in allowed_models or () if _labelable(m)}
        self._tenant_limit = tenant_limit
        self._admitted_by: dict[tuple[str, str], int] = {}  # at most model_id_limit entries
        # PROMPTER_METRIC_LABELS: the prompt label names (`production`, `staging`) the production-traffic metrics
        # name; every other label - whichever workspace it is in - is `other`. A fixed list, never learnt from
        # traffic: label names are chosen by callers, so admitting them as they come would let any caller grow the
        # series. Prompt names and version ids are never metric labels at all (span attributes and the stats API).
        self._label_names = frozenset(label_names)

    @property
    def providers(self) -> frozenset[str]:
        return self._providers

    def provider(self, provider: str) -> str:
        return provider if provider in self._providers else OTHER

    def model_id(self, model_id: str) -> str:
        """The id itself once admitted (or allow-listed), else `other`."""
        return model_id if model_id in self._model_ids else OTHER

    def label(self, label: str | None) -> str:
        """A prompt label's metric value: the name when listed in PROMPTER_METRIC_LABELS, else `other`."""
        return label if label is not None and label in self._label_names else OTHER

    @property
    def label_names(self) -> frozenset[str]:
        return self._label_names

    def admit_model(self, model_id: str, tenant: tuple[str, str] | None = None) -> None:
        """A version was pinned to `model_id` (for `tenant`): label it by name from now on, while slots remain and the
        tenant has its share left (never with an allow-list). A race may admit one extra value, which is harmless."""
        if self._fixed or model_id in self._model_ids or len(self._model_ids) >= self._limit:
            return
        if tenant is not None and self._admitted_by.get(tenant, 0) >= self._tenant_limit:
            return
        if _labelable(model_id):
            self._model_ids.add(model_id)
            if tenant is not None:
                self._admitted_by[tenant] = self._admitted_by.get(tenant, 0) + 1


def parse_model_list(raw: str | None) -> frozenset[str] | None:
    """`PROMPTER_METRIC_MODELS` (comma-separated, blanks ignored) -> the allow-list; unset or empty -> None."""
    models = frozenset(item.strip() for item in (raw or "").split(",") if item.strip())
    return models or None


def _labelable(model_id: str) -> bool:
    return len(model_id) <= MAX_LABEL_CHARS and model_id.isprintable()
