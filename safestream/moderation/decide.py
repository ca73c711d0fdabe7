"""Scoring and deciding a batch of stamped chat messages (used by each Room's pipeline).

One call to the moderation pool for the whole batch; the room's policy turns each
message's scores into a decision. When the pool cannot answer in time, the policy's
failure mode decides: held (fail-closed) or delivered with action `unscored` (fail-open).

Example:
    decided = await moderate(batch, policy, moderation_client, metrics)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from safestream.chat.frames import ChatMessage
from safestream.metrics import Metrics
from safestream.moderation.policy import Decision, RoomPolicy
from safestream.moderation.pool import ModerationClient, ModerationUnavailable

__all__ = ["apply_decision", "moderate"]


async def moderate(
    batch: Sequence[ChatMessage], policy: RoomPolicy, client: ModerationClient, metrics: Metrics
) -> list[ChatMessage]:
    """The batch, in order, with each message's decision applied."""
    try:
        scores = await client.score([message.original for message in batch])
    except ModerationUnavailable:
        metrics.moderation_unscored += len(batch)
        out = []
        for message in batch:
            decision = policy.unscored(message.original)
            out.append(apply_decision(message, decision, _unscored_action(decision)))
        return out
    out = []
    for message, s in zip(batch, scores, strict=True):
        if s is None:  # the model failed on this text alone: its failure mode applies
            metrics.moderation_unscored += 1
            decision = policy.unscored(message.original)
            out.append(apply_decision(message, decision, _unscored_action(decision)))
        else:
            out.append(
                apply_decision(message, policy.decide(message.original, s.values, s.triggers))
            )
    return out


def _unscored_action(decision: Decision) -> str:
    return "unscored" if decision.visible else decision.action


def apply_decision(
    message: ChatMessage, decision: Decision, action: str | None = None
) -> ChatMessage:
    """`message` as decided: shown text, flags, scores, triggers, policy version, why."""
    return dataclasses.replace(
        message,
        text=decision.text,
        toxic=decision.toxic,
        score=decision.score,
        action=action or decision.action,
        scores=decision.scores,
        triggers=decision.triggers,
        policy_version=decision.policy_version,
        reason=decision.reason,
        why=decision.why().as_dict(),
    )
