"""`/api/admin/rooms/<room>/policy`: read and replace a room's moderation policy.

A PUT validates the whole policy (its model, then `RoomPolicy`'s own rules), stores it
with the next version number (so every stored decision can name the policy that made
it) in the same transaction as its audit row, then applies it to the running room.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from quart import Blueprint
from quart_schema import document_response, validate_request

from actors import ActorError
from safestream.chat.room_messages import SetPolicy
from safestream.chat.room_supervisor import running_room
from safestream.cluster.agent import Control
from safestream.moderation.policy import PolicyError, RoomPolicy
from safestream.store import repo
from safestream.store.errors import StalePolicyVersion
from safestream.store.records import ActionRow, UserRecord
from safestream.web.deps import ApiError, documented, room_name
from safestream.web.models import PolicyUpdate
from safestream.web.models.responses import Policy
from safestream.web.routes.audited import applied_and_audited

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["current_policy", "policy_routes"]

Decorator = Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]


async def current_policy(ctx: AppContext, room: str) -> RoomPolicy:
    """The stored policy of `room`, or the default policy (version 1)."""
    record = await ctx.db.run(repo.ensure_room, room)
    settings = ctx.settings
    return RoomPolicy.stored_or_default(
        record.policy,
        record.policy_version,
        threshold=settings.toxic_threshold,
        failure_mode=settings.moderation_failure_mode,
    )


def policy_routes(bp: Blueprint, ctx: AppContext, moderator: Decorator) -> None:
    """Add the policy routes to the admin blueprint; `moderator` checks the role."""

    @bp.get("/rooms/<room>/policy")
    @documented("policy", {422: ["invalid_room"]})
    @moderator
    @document_response(Policy)
    async def get_policy(room: str, user: UserRecord) -> dict[str, Any]:
        """Read a room's moderation policy

        The stored policy, or the default one (version 1).
        """
        return (await current_policy(ctx, room_name(room))).to_dict()

    @bp.put("/rooms/<room>/policy")
    @documented(
        "policy",
        {409: ["stale_policy"], 422: ["invalid_room", "invalid_policy"], 503: ["not_saved"]},
    )
    @moderator
    @validate_request(PolicyUpdate)
    @document_response(Policy)
    async def put_policy(room: str, data: PolicyUpdate, user: UserRecord) -> dict[str, Any]:
        """Replace a room's moderation policy

        Validates the whole policy, stores it as version + 1 and audits it in one
        transaction, then applies it to the running room at once. Unknown fields are
        refused; omitted ones take their defaults.
        """
        name = room_name(room)
        old = await current_policy(ctx, name)
        fields = data.model_dump(exclude_unset=True, exclude={"version"})
        try:
            policy = RoomPolicy.from_dict({**fields, "version": old.version + 1})
        except PolicyError as exc:
            raise ApiError(422, "invalid_policy", str(exc)) from exc
        document = policy.to_dict()
        audit = ActionRow(actor=user.username, action="policy", room=name, detail=document)
        try:
            await applied_and_audited(
                ctx,
                lambda s: repo.save_room_policy(
                    s, name, document, policy.version, by=user.username
                ),
                audit,
            )
        except StalePolicyVersion as exc:
            raise ApiError(409, "stale_policy", "the policy changed meanwhile; reload") from exc
        ctx.cluster.announce(Control("policy", name, {"policy": document}))
        ref = running_room(ctx.system.registry, name)
        if ref is not None:
            try:
                ref.tell_nowait(SetPolicy(policy))
            except ActorError:
                pass  # a starting room reads the stored policy itself
        return document
