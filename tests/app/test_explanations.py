"""Held messages whose words the model could not name are explained by occlusion after
they are stored and delivered: a moderator's feed always gets `held` before its `why`, and
a message the database refused is not explained."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import trio
from appkit import InlineDatabase, Node, open_node
from modelkit import Wordless
from sqlalchemy.exc import IntegrityError

from safestream.chat.room_messages import SetPolicy
from safestream.moderation.feed import FeedEvent, Subscribe
from safestream.moderation.policy import Band, RoomPolicy
from safestream.store import repo

T = TypeVar("T")
HOLD_INSULTS = RoomPolicy(version=2, bands=(Band("insult", 0.6, "hold"),))


async def test_each_held_message_reaches_moderators_before_its_explanation(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, Wordless()) as node:
        events: trio.MemoryReceiveChannel[FeedEvent] = await node.system.address("feed").ask(
            Subscribe(), timeout=5
        )
        room = await node.room()
        await room.tell(SetPolicy(HOLD_INSULTS))
        ann = await node.join("ann")
        await ann.frame("history")
        texts = [f"honestly you are an idiot {n}" for n in range(5)]
        for text in texts:
            await ann.post(text)
        seen: list[tuple[str, str]] = []
        with trio.fail_after(30):
            async for event in events:
                if event.kind in ("held", "why"):
                    seen.append((event.kind, event.data["id"]))
                if [kind for kind, _ in seen].count("why") == len(texts):
                    break
        held_ids = [message_id for kind, message_id in seen if kind == "held"]
        assert len(held_ids) == len(texts)
        for message_id in held_ids:
            assert seen.index(("held", message_id)) < seen.index(("why", message_id))
        stored = node.parts.db.run_sync(lambda s: repo.window_messages(s, "main", limit=10))
        assert {m.why["drivers_by"] for m in stored if m.why} == {"occlusion"}


class RefusingDatabase(InlineDatabase):
    """Refuses to store any message whose text says "refuse me" (as a poison row is)."""

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if fn is repo.insert_batch and any("refuse me" in row.text for row in args[0]):
            raise IntegrityError("INSERT INTO messages", None, Exception("refused"))
        return await super().run(fn, *args)


def explainer_info(node: Node) -> dict[str, Any]:
    [info] = [n["info"] for n in walk(node.system.snapshot()) if n["name"] == "explainer"]
    return dict(info)


def walk(tree: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield tree
    for child in tree["children"]:
        yield from walk(child)


async def test_a_message_that_was_not_stored_is_not_explained(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, Wordless(), database=RefusingDatabase) as node:
        room = await node.room()
        await room.tell(SetPolicy(HOLD_INSULTS))
        ann = await node.join("ann")
        await ann.frame("history")
        await ann.post("you idiot, refuse me")
        assert (await ann.frame("error"))["code"] == "not_saved"
        await ann.post("you idiot")
        assert (await ann.frame("held"))["message"] == "you idiot"
        await trio.sleep(10)  # longer than the explainer retries a missing row
        assert explainer_info(node) == {"explained": 1, "model_unavailable": 0, "not_stored": 0}
