"""Shadow policies: a candidate policy that decides every live message beside the
active one, without changing what anyone receives.

A moderator attaches a candidate to a room (`POST /api/admin/rooms/<room>/shadow`); the
attachment is stored (`room_shadows`) and announced to every node, whose `ShadowBoard`
(one per node, made at start-up like `Sanctions`) then holds it. The room's owner
decides each scored batch with its active policy as always, then `ShadowBoard.decide`
adds what the shadow would have done (`shadow_action`, `shadow_id`) to each message; the
message is stored with it and moderators see it in their events. Delivery, masking,
timeouts and the viewers' frames only ever follow the active decision.

Example:
    board = ShadowBoard()
    board.set("main", Shadow(id=3, room="main", policy=candidate))
    decided = board.decide("main", decided)      # same messages, shadow fields added
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from safestream.chat.frames import ChatMessage
from safestream.moderation.policy import RoomPolicy
from safestream.moderation.replay import plain_action

__all__ = ["Shadow", "ShadowBoard", "shadow_action"]


@dataclass(frozen=True)
class Shadow:
    """Attachment `id` of `policy` to `room` in shadow mode."""

    id: int
    room: str
    policy: RoomPolicy

    def __post_init__(self) -> None:
        if self.id < 1:
            raise ValueError("a shadow id is >= 1")


def shadow_action(policy: RoomPolicy, message: ChatMessage) -> str:
    """What `policy` would have done with a decided message (its scores, or unscored)."""
    if not message.scores:
        return plain_action(policy.unscored(message.original).action)
    return policy.decide(message.original, message.scores, message.triggers).action


class ShadowBoard:
    """The shadow policies of every room on this node (at most one per room)."""

    def __init__(self) -> None:
        self._shadows: dict[str, Shadow] = {}

    def set(self, room: str, shadow: Shadow | None) -> None:
        """Attach `shadow` to `room`, or with None detach whatever is attached."""
        if shadow is None:
            self._shadows.pop(room, None)
        else:
            self._shadows[room] = shadow

    def get(self, room: str) -> Shadow | None:
        return self._shadows.get(room)

    def rooms(self) -> list[str]:
        return sorted(self._shadows)

    def decide(self, room: str, messages: Sequence[ChatMessage]) -> list[ChatMessage]:
        """`messages` with the room's shadow decision on each (unchanged without one)."""
        shadow = self._shadows.get(room)
        if shadow is None:
            return list(messages)
        return [
            dataclasses.replace(
                message, shadow_action=shadow_action(shadow.policy, message), shadow_id=shadow.id
            )
            for message in messages
        ]
