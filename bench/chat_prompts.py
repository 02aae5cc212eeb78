"""`python -m bench.chat_prompts`: what a chat prompt with a bundle costs the server, beside a text prompt.

One `prompter serve` (SQLite, the fake LLM, default telemetry: metrics on), seeded with two prompts:
  text  "Hello {{ name }} from {{ team }}!", run with no bundle;
  chat  5 messages (system, a few-shot user/assistant pair, a history placeholder, the question) with one tool and a
        response schema on its version, run through its label with a 2-message history - so each run renders the chat,
        validates the variables against the input_schema, and checks the fake's JSON answer against the schema.
Both runs and both resolves are loaded in interleaved rounds (text, chat, chat, text, ...) and each measurement reads
the server process's own CPU time (/proc) per answered request. The verdict is the median per-round ratio
chat / text of the run's CPU per request (target: within 10 %).

Writes <out>/chat_prompts.json and prints a table. `python -m bench` runs it too (skip with --no-chat-prompts).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.load import Request, load_generator
from bench.servers import PrompterServer, http

ROOT = Path(__file__).resolve().parent.parent
TENANT = {"org_id": "bench", "workspace_id": "bench"}
QUERY = "org_id=bench&workspace_id=bench"
TEXT = {"name": "greet", "body": "Hello {{ name }} from {{ team }}!", **TENANT}
CHAT = {
    "name": "assistant",
    "type": "chat",
    "messages": [
        {"role": "system", "content": "You are {{ persona }}. Answer with JSON only."},
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": '{"answer": "Paris", "confidence": 0.99}'},
        {"type": "placeholder", "name": "history"},
        {"role": "user", "content": "{{ question }}"},
    ],
    "input_schema": {
        "type": "object",
        "properties": {"persona": {"type": "string"}, "question": {"type": "string", "minLength": 1}},
        "required": ["persona", "question"],
    },
    **TENANT,
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_capital",
            "description": "Look up the capital of a country.",
            "parameters": {"type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"]},
        },
    }
]
RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "schema": {
            "type": "object",
            "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
            "required": ["answer", "confidence"],
            "additionalProperties": False,
        },
    },
}
PIN = {"provider": "openai", "model_id": "gpt-4o"}
HISTORY = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! Ask me about capitals."}]
REQUESTS = {
    "run_text": Request(
        "POST", "/api/prompts/greet/run", json.dumps({"variables": {"name": "Ada", "team": "Prompter"}, **TENANT})
    ),
    "run_chat": Request(
        "POST",
        "/api/prompts/assistant/run",
        json.dumps(
            {"variables": {"persona": "a tutor", "question": "Capital of Italy?", "history": HISTORY}, **TENANT}
        ),
    ),
    "resolve_text": Request("GET", f"/api/prompts/greet?{QUERY}"),
    "resolve_chat": Request("GET", f"/api/prompts/assistant?{QUERY}"),
}
PAIRS = (("run_text", "run_chat"), ("resolve_text", "resolve_chat"))


def _call(server: PrompterServer, method: str, path: str, body: Any, expected: int) -> Any:
    status, answer = http(method, server.base_url + path, body)
    if status != expected:
        raise RuntimeError(f"{method} {path} -> {status} (expected {expected}): {answer}")
    return answer


def seed(server: PrompterServer) -> None:
    """Both prompts, each pinned (the chat one with its tool and response schema) and labelled production."""
    text_id = _call(server, "POST", "/api/prompt-templates", TEXT, 201)["id"]
    chat_id = _call(server, "POST", "/api/prompt-templates", CHAT, 201)["id"]
    bundle = {"tools": TOOLS, "tool_choice": "auto", "response_format": RESPONSE_FORMAT}
    for name, tid, extra in (("greet", text_id, {}), ("assistant", chat_id, bundle)):
        version = _call(server, "POST", f"/api/prompt-templates/{tid}/ensure-version", {**PIN, **extra}, 201)
        _call(server, "PUT", f"/api/prompts/{name}/labels/production", {"version_id": version["id"], **TENANT}, 200)
    for key, request in REQUESTS.items():
        body = json.loads(request.body) if request.body else None
        answer = _call(server, request.method, request.path, body, 201 if request.method == "POST" else 200)
        if key == "run_chat" and (answer.get("schema_valid") is not True or len(answer["rendered_messages"]) != 6):
            raise RuntimeError(f"the chat run did not check its schema or render its history: {answer}")


def measure(rounds: int, seconds: float, connections: int, workdir: Path) -> dict[str, Any]:
    server = PrompterServer(
        "chat-prompts",
        {"DB_URL": f"sqlite:///{workdir}/chat.db", "PROMPTER_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)},
        workdir,
    )
    loadgen = load_generator(workdir)
    cpu: dict[str, list[float]] = {key: [] for key in REQUESTS}
    rps: dict[str, list[float]] = {key: [] for key in REQUESTS}
    try:
        server.wait_ready()
        seed(server)
        for request in REQUESTS.values():  # warm-up
            loadgen.run(server.base_url, request, connections=connections, seconds=1)
        for index in range(rounds):
            order = [key for pair in PAIRS for key in (pair if index % 2 == 0 else pair[::-1])]
            for key in order:
                time.sleep(0.3)
                before = server.process.cpu_seconds()
                result = loadgen.run(server.base_url, REQUESTS[key], connections=connections, seconds=seconds)
                if result.errors:
                    raise RuntimeError(f"{key}: {result.errors} errors of {result.requests}")
                cpu[key].append((server.process.cpu_seconds() - before) / max(1, result.requests) * 1e6)
                rps[key].append(result.rps)
    finally:
        server.stop()
    ratios = {chat: [c / t for t, c in zip(cpu[text], cpu[chat], strict=True)] for text, chat in PAIRS}
    return {
        "rounds": rounds,
        "seconds": seconds,
        "connections": connections,
        "cpu_us_per_request": {key: round(statistics.median(values), 1) for key, values in cpu.items()},
        "rps": {key: round(statistics.median(values), 1) for key, values in rps.items()},
        "ratio_chat_over_text": {key: round(statistics.median(values), 3) for key, values in ratios.items()},
        "ratio_range": {key: [round(min(v), 3), round(max(v), 3)] for key, v in ratios.items()},
        "target": "run_chat within 10 % of run_text (ratio <= 1.10)",
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"Chat prompt (5 messages, 1 tool, response schema) vs text prompt: {result['rounds']} interleaved rounds of "
        f"{result['seconds']} s at -c{result['connections']}, server CPU per request (median).",
        "",
        "| request | CPU µs/req | RPS | chat / text (rounds min-max) |",
        "| --- | --- | --- | --- |",
    ]
    for text, chat in PAIRS:
        for key in (text, chat):
            ratio = ""
            if key == chat:
                low, high = result["ratio_range"][chat]
                ratio = f"{result['ratio_chat_over_text'][chat]:.3f} ({low:.3f}-{high:.3f})"
            lines.append(f"| {key} | {result['cpu_us_per_request'][key]} | {result['rps'][key]} | {ratio} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chat_prompts", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--connections", type=int, default=1, help="SQLite: one writer; the runs write")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    workdir = Path(tempfile.mkdtemp(prefix="prompter-bench-chat-"))
    result = measure(args.rounds, args.seconds, args.connections, workdir)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "chat_prompts.json").write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
