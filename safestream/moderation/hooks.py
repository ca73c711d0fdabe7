"""What a room's owner does with each decided batch besides storing and delivering it.

Two things, neither of which changes delivery: the room's shadow policy decides the
batch too (`ShadowBoard.decide`, between moderation and the store, so the shadow
decisions are stored with the messages), and held or blocked messages whose driving
words the model could not name are handed to the `Explainer` for occlusion (`explain`,
after the batch is stored and delivered, so a moderator's `why` event always follows
its `held` one and only stored messages are explained; best effort: its mailbox drops
the oldest when full).

Example:
    hooks = DecisionHooks(shadows=board, explainer=registry.address("explainer"))
    decided = hooks.after("main", decided)
    ...  # stored, delivered
    hooks.explain(delivered)
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
        """`decided` with the room's shadow decisions added."""
        return self.shadows.decide(room, decided)

    def explain(self, delivered: Sequence[ChatMessage]) -> None:
        """Queue occlusion for the held and blocked ones of a stored, delivered batch."""
        if self.explainer is not None:
            for message in delivered:
                if message.status in (MessageStatus.HELD, MessageStatus.BLOCKED):
                    self._explain(self.explainer, message)

    @staticmethod
    def _explain(explainer: Address, message: ChatMessage) -> None:
        if message.why.get("drivers_by") or not message.scores:
            return  # the model named its words, or there is no score to explain
        try:
            explainer.tell_nowait(Explain(message.id, message.room, message.original, message.why))
        except ActorError:
            pass  # the explainer restarts: a moderator can still ask for this one
