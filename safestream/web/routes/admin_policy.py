"""`/api/admin/rooms/<room>/policy`: read and replace a room's moderation policy.

A PUT validates the whole policy, stores it with the next version number (so every
stored decision can name the policy that made it), applies it to the running room at
once and writes an audit entry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from quart import Blueprint

from actors import ActorError
from safestream.chat.room_messages import SetPolicy
from safestream.chat.room_supervisor import InvalidRoom, running_room, validate_room_name
from safestream.moderation.policy import PolicyError, RoomPolicy
from safestream.store import repo
from safestream.store.errors import StalePolicyVersion
from safestream.store.records import UserRecord
from safestream.web.deps import ApiError, json_body

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["current_policy", "policy_routes"]

Audit = Callable[..., Awaitable[None]]


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


def policy_routes(
    bp: Blueprint,
    ctx: AppContext,
    moderator: Callable[[], Awaitable[UserRecord]],
    audit: Audit,
) -> None:
    @bp.get("/rooms/<room>/policy")
    async def get_policy(room: str) -> dict[str, Any]:
        await moderator()
        return (await current_policy(ctx, _room(room))).to_dict()

    @bp.put("/rooms/<room>/policy")
    async def put_policy(room: str) -> dict[str, Any]:
        mod = await moderator()
        name = _room(room)
        body = await json_body()
        body.pop("version", None)
        old = await current_policy(ctx, name)
        try:
            policy = RoomPolicy.from_dict({**body, "version": old.version + 1})
        except PolicyError as exc:
            raise ApiError(422, "invalid_policy", str(exc)) from exc
        try:
            await ctx.db.run(repo.save_room_policy, name, policy.to_dict(), policy.version)
        except StalePolicyVersion as exc:
            raise ApiError(409, "stale_policy", "the policy changed meanwhile; reload") from exc
        ref = running_room(ctx.system.registry, name)
        if ref is not None:
            try:
                ref.tell_nowait(SetPolicy(policy))
            except ActorError:
                pass  # a starting room reads the stored policy itself
        await audit(mod.username, "policy", None, room=name, detail=policy.to_dict())
        return policy.to_dict()


def _room(room: str) -> str:
    try:
        return validate_room_name(room)
    except InvalidRoom as exc:
        raise ApiError(422, "invalid_room", str(exc)) from exc
