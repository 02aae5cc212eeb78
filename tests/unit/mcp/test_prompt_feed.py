"""The change feed behind list_changed (service/mcp/feed.py): a committed PromptListChanged reaches the subscribers of
its workspace only, a failing subscriber does not stop the others, and unsubscribing is final."""

from __future__ import annotations

import asyncio

from service.mcp.feed import PromptFeed
from telemetry.events import LabelMoved, PromptListChanged


async def drain(feed: PromptFeed) -> None:
    while feed._pending:
        await asyncio.gather(*feed._pending, return_exceptions=True)


async def test_an_event_reaches_the_subscribers_of_its_workspace_only() -> None:
    feed = PromptFeed()
    heard: list[str] = []

    def recorder(who: str):
        async def notify() -> None:
            heard.append(who)

        return notify

    feed.subscribe("acme", "shop", recorder("shop-1"))
    feed.subscribe("acme", "shop", recorder("shop-2"))
    feed.subscribe("acme", "other", recorder("other"))
    feed.publish(PromptListChanged("acme", "shop", "greet"))
    feed.publish(LabelMoved(kind="move", protected=False))  # not a prompt list change: ignored
    await drain(feed)
    assert sorted(heard) == ["shop-1", "shop-2"]


async def test_a_failing_subscriber_does_not_stop_the_others_and_unsubscribe_is_final() -> None:
    feed = PromptFeed()
    heard: list[int] = []

    async def broken() -> None:
        raise RuntimeError("stream gone")

    async def works() -> None:
        heard.append(1)

    feed.subscribe("acme", "shop", broken)
    unsubscribe = feed.subscribe("acme", "shop", works)
    feed.publish(PromptListChanged("acme", "shop", "greet"))
    await drain(feed)
    assert heard == [1]
    unsubscribe()
    unsubscribe()  # idempotent
    assert feed.subscribers("acme", "shop") == 1
    feed.publish(PromptListChanged("acme", "shop", "greet"))
    await drain(feed)
    assert heard == [1]


def test_publishing_outside_an_event_loop_is_a_no_op() -> None:
    feed = PromptFeed()

    async def never() -> None:
        raise AssertionError("no loop, nobody to tell")

    feed.subscribe("acme", "shop", never)
    feed.publish(PromptListChanged("acme", "shop", "greet"))  # e.g. a CLI job's unit of work
    assert not feed._pending
