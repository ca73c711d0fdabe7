"""The moderation pool on a node: micro-batching, failure modes, crash and restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from appkit import FlakyClassifier, open_node

from safestream.moderation.classifiers import KeywordClassifier
from safestream.moderation.pool import ModerationUnavailable


async def test_posts_from_several_rooms_share_one_model_batch(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    model = FlakyClassifier(fail_on=set())
    async with open_node(tmp_path, model, moderation_batch_wait_ms=50.0) as node:
        members = [await node.join(f"u{i}", room=f"r{i}") for i in range(4)]
        for member in members:
            await member.post("hello")
        for member in members:
            assert (await member.frame("chat"))["message"] == "hello"
        assert model.batches == [4]


async def test_batch_is_cut_at_batch_size(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    model = FlakyClassifier(fail_on=set())
    async with open_node(
        tmp_path, model, moderation_batch_size=3, moderation_batch_wait_ms=50.0
    ) as node:
        members = [await node.join(f"u{i}", room=f"r{i}") for i in range(5)]
        for member in members:
            await member.post("hi")
        for member in members:
            await member.frame("chat")
        assert model.batches == [3, 2]


async def test_failed_model_call_fail_closed_holds_and_the_worker_stays_up(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    model = FlakyClassifier(fail_on={1})
    async with open_node(tmp_path, model, moderation_failure_mode="closed") as node:
        ann = await node.join("ann")
        await ann.post("first")
        held = await ann.frame("held")
        assert held["message"] == "first"
        assert held["reason"] == "unscored (closed)"
        await ann.post("second")
        assert (await ann.frame("chat"))["message"] == "second"
        pool = next(c for c in node.system.snapshot()["children"] if c["name"] == "moderation")
        worker = pool["children"][0]
        assert worker["restarts"] == 0
        assert worker["info"]["last_error"].startswith("RuntimeError")
        assert node.parts.metrics.moderation_failures == 1
        assert node.parts.metrics.moderation_unscored == 1


async def test_crashed_model_fail_open_delivers_marked_unscored(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    model = FlakyClassifier(fail_on={1})
    async with open_node(tmp_path, model, moderation_failure_mode="open") as node:
        ann = await node.join("ann")
        await ann.post("you idiot")
        frame = await ann.frame("chat")
        assert frame["action"] == "unscored"
        assert frame["toxic"] is False


async def test_model_slower_than_timeout_applies_failure_mode(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async def slow_offload(fn: Any, *args: Any, limiter: Any = None) -> Any:
        await trio.sleep(2.5)
        return fn(*args)

    async with open_node(tmp_path, offload=slow_offload, moderation_timeout_secs=2.0) as node:
        ann = await node.join("ann")
        await ann.post("hello")
        held = await ann.frame("held")
        assert held["reason"] == "unscored (closed)"
        with pytest.raises(ModerationUnavailable):
            await node.parts.moderation_client().score(["x"])


async def test_model_just_within_timeout_is_delivered(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async def offload(fn: Any, *args: Any, limiter: Any = None) -> Any:
        await trio.sleep(1.9)
        return fn(*args)

    async with open_node(tmp_path, offload=offload, moderation_timeout_secs=2.0) as node:
        ann = await node.join("ann")
        await ann.post("hello")
        assert (await ann.frame("chat"))["action"] == "allow"


def test_keyword_model_is_deterministic() -> None:
    model = KeywordClassifier()
    assert model.predict(["you idiot"]) == model.predict(["you idiot"])


class PoisonClassifier(KeywordClassifier):
    """Fails any call that contains the text "poison" (a text the model cannot take)."""

    name = "poison"

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    def predict(self, texts: Any) -> Any:
        self.batches.append(list(texts))
        if "poison" in texts:
            raise ValueError("model cannot take this text")
        return super().predict(texts)


async def test_a_poison_text_is_isolated_and_the_rest_of_its_batch_is_scored(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    model = PoisonClassifier()
    async with open_node(
        tmp_path, model, moderation_failure_mode="closed", moderation_batch_wait_ms=50.0
    ) as node:
        ann = await node.join("ann", room="one")
        bob = await node.join("bob", room="two")
        await ann.post("poison")
        await bob.post("you idiot")
        held = await ann.frame("held")
        assert held["reason"] == "unscored (closed)"
        chat = await bob.frame("chat")
        assert chat["message"] == "you idiot" and chat["toxic"] is True
        assert model.batches[0] == ["poison", "you idiot"]  # one batch, then one by one
        assert ["you idiot"] in model.batches[1:]
        assert node.parts.metrics.moderation_unscored == 1


async def test_workers_count_the_texts_sent_to_the_second_opinion_model(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    import dataclasses

    from safestream.moderation.classifiers import Scores

    class Escalating(KeywordClassifier):
        def predict(self, texts: Any) -> list[Scores]:
            return [
                dataclasses.replace(s, escalated=t.startswith("?"))
                for s, t in zip(super().predict(texts), texts, strict=True)
            ]

    async with open_node(tmp_path, Escalating()) as node:
        ann = await node.join("ann")
        for text in ("? unsure", "sure", "? again"):
            await ann.post(text)
            await ann.frame("chat")
        assert node.parts.metrics.moderation_escalated == 2
        assert node.parts.metrics.moderation_texts == 3
