"""Generate prompter_client/sync_client.py from prompter_client/async_client.py with unasync (as httpcore does).

    python client/scripts/generate_sync_client.py           # rewrite sync_client.py
    python client/scripts/generate_sync_client.py --check   # exit 1 when sync_client.py is not what this script makes

unasync drops `async`/`await` and renames tokens (below); the async module's docstring is replaced by a header that
says the file is generated. client/tests/unit/test_client_sync_generated.py runs the check.
"""

from __future__ import annotations

import ast
import io
import sys
import tempfile
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "prompter_client"
SOURCE = PACKAGE / "async_client.py"
TARGET = PACKAGE / "sync_client.py"

# Names the async client uses, and their blocking twins (unasync adds __aenter__/__aexit__ and friends itself).
REPLACEMENTS = {
    "AsyncPrompter": "Prompter",
    "AsyncFlight": "Flight",
    "AsyncBackground": "Background",
    "AsyncClient": "Client",
    "AsyncBaseTransport": "BaseTransport",
    "aclose": "close",
}

HEADER = '''"""`Prompter`: the blocking client.

GENERATED from async_client.py by client/scripts/generate_sync_client.py: edit async_client.py and run the
script, never this file.
"""
'''


def generate() -> str:
    import unasync

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "_async" / "client.py"
        source.parent.mkdir()
        source.write_text(SOURCE.read_text())
        unasync.unasync_files([str(source)], [unasync.Rule("/_async/", "/_sync/", REPLACEMENTS)])
        text = (Path(tmp) / "_sync" / "client.py").read_text()
    module = ast.parse(text)
    docstring = module.body[0]
    if not (isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)):
        raise SystemExit(f"{SOURCE} must start with a module docstring")
    rest = text.splitlines(keepends=True)[docstring.end_lineno :]
    generated = HEADER + "".join(rest)
    # Code (not prose) still naming something async means a twin is missing in REPLACEMENTS or in _concurrency.py.
    names = {t.string for t in tokenize.generate_tokens(io.StringIO(generated).readline) if t.type == tokenize.NAME}
    leftover = sorted(n for n in names if n.startswith(("Async", "async", "a")) and n in REPLACEMENTS | {"asyncio": ""})
    if leftover or "await" in names or "async" in names:
        raise SystemExit(f"async names left in the generated client: {leftover}")
    return generated


def main(argv: list[str]) -> int:
    generated = generate()
    if "--check" in argv:
        if TARGET.read_text() != generated:
            print(f"{TARGET} is out of date: run python {__file__}")
            return 1
        return 0
    TARGET.write_text(generated)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
