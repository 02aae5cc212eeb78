"""Keep label values bounded: an unbounded label (raw paths, arbitrary model ids) explodes Prometheus' series count."""

from __future__ import annotations

from telemetry.contract import MODEL_ID_LABEL_LIMIT, OTHER

KNOWN_PROVIDERS = frozenset({"openai", "anthropic", "google"})
MAX_LABEL_CHARS = 100


class LabelBounds:
    def __init__(self, providers: frozenset[str] = KNOWN_PROVIDERS, model_id_limit: int = MODEL_ID_LABEL_LIMIT) -> None:
        self._providers = providers
        self._limit = model_id_limit
        self._model_ids: set[str] = set()

    def provider(self, provider: str) -> str:
        return provider if provider in self._providers else OTHER

    def model_id(self, model_id: str) -> str:
        """The first `model_id_limit` distinct model ids keep their name; later ones fold into `other`."""
        if model_id in self._model_ids:
            return model_id
        if len(self._model_ids) >= self._limit or len(model_id) > MAX_LABEL_CHARS or not model_id.isprintable():
            return OTHER
        # set.add is atomic under the GIL; a race may admit one extra value, which is harmless.
        self._model_ids.add(model_id)
        return model_id
