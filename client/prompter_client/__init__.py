"""Prompter's Python client: fetch prompts by name + label with a cache that survives a Prompter outage.

from prompter_client import Prompter
p = Prompter(base_url="http://localhost:8000")
prompt = p.get_prompt("greet", label="production")
text = prompt.render(name="Ada", team="Prompter")
"""

__version__ = "0.1.0"

from prompter_client.async_client import AsyncPrompter  # noqa: E402
from prompter_client.cache import PromptCache  # noqa: E402
from prompter_client.errors import (  # noqa: E402
    Conflict,
    Forbidden,
    InvalidVariables,
    MissingVariables,
    PrompterError,
    PrompterUnavailable,
    PromptNotFound,
    RateLimited,
    Unauthorized,
)
from prompter_client.models import (  # noqa: E402
    Label,
    Prompt,
    PromptArchive,
    PromptDeletion,
    PromptVersion,
    RevisionArchive,
    RunResult,
    VersionArchive,
)
from prompter_client.sync_client import Prompter  # noqa: E402

__all__ = [
    "AsyncPrompter",
    "Conflict",
    "Forbidden",
    "InvalidVariables",
    "Label",
    "MissingVariables",
    "Prompt",
    "PromptArchive",
    "PromptCache",
    "PromptDeletion",
    "PromptNotFound",
    "PromptVersion",
    "Prompter",
    "PrompterError",
    "PrompterUnavailable",
    "RateLimited",
    "RevisionArchive",
    "RunResult",
    "Unauthorized",
    "VersionArchive",
    "__version__",
]
