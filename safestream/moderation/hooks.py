"""What a room's owner does with each decided batch besides storing and delivering it.

Two things, neither of which changes delivery: the room's shadow policy decides the
batch too (`ShadowBoard.decide`), and held or blocked messages whose driving words the
model could not name are handed to the `Explainer` for occlusion (best effort: its
mailbox drops the oldest when full). `Room` makes one call, `DecisionHooks.after`,
between moderation and the store.

Example:
    hooks = DecisionHooks(shadows=board, explainer=registry.address("explainer"))
    decided = hooks.after("main", decided)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from actors import ActorError, Address
from safestream.chat.frames import ChatMessage
from safestream.moderation.explainer import Explain
from safestream.moderation.shadow import ShadowBoard
from safestream.store.records import MessageStatus

__all__ = ["DecisionHooks"]


@dataclass(frozen=True)
class DecisionHooks:
    """The node's shadow policies and its explainer's address (None: no explanations)."""

    shadows: ShadowBoard = field(default_factory=ShadowBoard)
    explainer: Address | None = None

    def after(self, room: str, decided: Sequence[ChatMessage]) -> list[ChatMessage]:
        """`decided` with shadow decisions added; queues occlusion for held/blocked ones."""
        out = self.shadows.decide(room, decided)
        if self.explainer is not None:
            for message in out:
                if message.status in (MessageStatus.HELD, MessageStatus.BLOCKED):
                    self._explain(self.explainer, message)
        return out

    @staticmethod
    def _explain(explainer: Address, message: ChatMessage) -> None:
        if message.why.get("drivers_by") or not message.scores:
            return  # the model named its words, or there is no score to explain
        try:
            explainer.tell_nowait(Explain(message.id, message.room, message.original, message.why))
        except ActorError:
            pass  # the explainer restarts: a moderator can still ask for this one
