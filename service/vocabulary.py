"""Names every layer shares: the provider allow-list, the label pattern, `latest` and the default label."""

from __future__ import annotations

import re

# The allow-list of provider names.
PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "google")

LABEL_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
# `latest` is computed (the newest version of the newest revision), never stored: it cannot be set, moved or deleted.
LATEST = "latest"
# The label a resolve or a run through a label uses when none is named, and the default protected label.
DEFAULT_LABEL = "production"
