"""Split labels from the client: it picks the arm locally from its cached split with the server's hash (the same arm
the server answers for that key), without a request per pick; the client's hash is the server's."""

from __future__ import annotations

import httpx
from client_live import TENANT, client_options, seed
from prompter_client import AsyncPrompter, Prompter
from prompter_client import split as client_split

from service.labels import split as server_split


def test_client_and_server_hash_agree_on_many_keys() -> None:
    weights = [70, 20, 10]
    arms = [server_split.Arm(i + 1, w) for i, w in enumerate(weights)]
    for n in range(5000):
        key = f"user-{n}-é"
        at = server_split.bucket("greet", "production", key)
        assert client_split.bucket("greet", "production", key) == at
        assert client_split.pick(weights, at) == server_split.pick(arms, at)


def test_get_prompt_with_a_key_picks_the_servers_arm_locally(live_url: str) -> None:
    v1, v2 = seed(live_url, "greet", ["Hello {{ name }}!", "Hi {{ name }}!"])
    split = [{"version_id": v1, "weight": 60}, {"version_id": v2, "weight": 40}]
    with httpx.Client(base_url=live_url, timeout=30) as http:
        assert http.put("/api/prompts/greet/labels/production", json={**TENANT, "split": split}).status_code == 200
        keys = [f"session-{n}" for n in range(60)]
        server = {
            key: http.get("/api/prompts/greet", params={**TENANT, "label": "production", "key": key}).json()["variant"]
            for key in keys
        }
    assert set(server.values()) == {0, 1}
    requests: list[httpx.Request] = []
    transport = httpx.HTTPTransport()

    class Counting(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            requests.append(request)
            return transport.handle_request(request)

    with Prompter(**client_options(live_url), transport=Counting()) as p:
        for key in keys:
            prompt = p.get_prompt("greet", key=key)
            assert prompt.variant == server[key]
            assert prompt.version is not None and prompt.version.id == [v1, v2][server[key]]
            assert prompt.render(name="Ada") == ["Hello Ada!", "Hi Ada!"][server[key]]
        assert len(requests) == 1  # one fetch of the split, every pick local
        assert {p.get_prompt("greet").variant for _ in range(100)} == {0, 1}  # no key: a random arm


async def test_async_client_picks_like_the_sync_one(live_url: str) -> None:
    v1, v2 = seed(live_url, "greet", ["Hello {{ name }}!", "Hi {{ name }}!"])
    split = [{"version_id": v1, "weight": 50}, {"version_id": v2, "weight": 50}]
    async with AsyncPrompter(**client_options(live_url)) as p:
        assert (await p.set_split("greet", "production", split, reason="canary")).split == split
        for n in range(40):
            key = f"k{n}"
            expected = client_split.pick([50, 50], client_split.bucket("greet", "production", key))
            assert (await p.get_prompt("greet", key=key)).variant == expected
            run = await p.run("greet", variables={"name": "Ada"}, key=key)
            assert (run.variant, run.version_id) == (expected, [v1, v2][expected])
