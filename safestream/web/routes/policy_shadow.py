"""`/api/admin/rooms/<room>/shadow`: run a candidate policy in shadow, watch how often
it agrees with the active one, then promote it (a new, audited policy version) or drop it.

Attaching stores the shadow and its audit row in one transaction (an active shadow is
replaced), then sets it on this node's `ShadowBoard` and announces it to every node, so
the room's owner decides each live message with it too (see
`safestream.moderation.shadow`). The status is read from the stored messages, so it is
the same on every node: agreement, the tally of (active, shadow) actions, and the
disagreements newest first with both rules.

Example:
    POST /api/admin/rooms/main/shadow        {"policy": {...}}   -> ShadowStatus
    GET  /api/admin/rooms/main/shadow                          -> agreement, disagreements
    POST /api/admin/rooms/main/shadow/promote                  -> the new version
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from quart import Blueprint
from quart_schema import validate_querystring, validate_request, validate_response

from safestream.chat.frames import agrees
from safestream.cluster.agent import Control
from safestream.moderation.policy import PolicyError, RoomPolicy
from safestream.moderation.replay import plain_action
from safestream.moderation.shadow import Shadow
from safestream.store import repo
from safestream.store.errors import NoShadow, StalePolicyVersion
from safestream.store.records import ActionRow, MessageRecord, RoomRecord, ShadowRecord, UserRecord
from safestream.web.deps import ApiError, documented, room_name
from safestream.web.models import whatif as models
from safestream.web.routes.policy_common import (
    apply_policy,
    audited,
    candidate,
    current_version,
    existing_room,
)

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["shadow_routes"]

Decorator = Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]
ENDING = {404: ["room_not_found", "no_shadow"], 422: ["invalid_room"], 503: ["not_saved"]}


def shadow_routes(bp: Blueprint, ctx: AppContext, moderator: Decorator) -> None:
    """Add the shadow routes to the what-if blueprint; `moderator` checks the role."""

    def announce(room: str, shadow: Shadow | None) -> None:
        ctx.shadows.set(room, shadow)
        fields = (
            {"id": None} if shadow is None else {"id": shadow.id, "policy": shadow.policy.to_dict()}
        )
        ctx.cluster.announce(Control("shadow", room, fields))

    @bp.post("/rooms/<room>/shadow")
    @documented(
        "policy",
        {
            404: ["room_not_found", "version_not_found"],
            422: ["invalid_room", "invalid_policy"],
            503: ["not_saved"],
        },
    )
    @moderator
    @validate_request(models.ShadowRequest)
    @validate_response(models.ShadowStatus)
    async def shadow_attach(
        room: str, data: models.ShadowRequest, user: UserRecord
    ) -> models.ShadowStatus:
        """Run a candidate policy in shadow

        Every live message of the room is also decided by the candidate, which never
        changes what anyone receives. Replaces an active shadow. Audited
        (`shadow_attach`).
        """
        record = await existing_room(ctx, room_name(room))
        policy, label = await candidate(ctx, record, data)
        document, name = policy.to_dict(), record.name

        def row_for(shadow: ShadowRecord) -> ActionRow:
            detail = {"shadow_id": shadow.id, "candidate": label, "policy": document}
            return ActionRow(actor=user.username, action="shadow_attach", room=name, detail=detail)

        shadow = await audited(
            ctx, lambda s: repo.attach_shadow(s, name, document, user.username), row_for
        )
        announce(name, Shadow(shadow.id, name, policy))
        return await _status(ctx, record, shadow, limit=50, before_seq=None)

    @bp.get("/rooms/<room>/shadow")
    @documented("policy", {404: ["room_not_found"], 422: ["invalid_room"]})
    @moderator
    @validate_querystring(models.ShadowQuery)
    @validate_response(models.ShadowStatus)
    async def shadow_status(
        room: str, query_args: models.ShadowQuery, user: UserRecord
    ) -> models.ShadowStatus:
        """A room's shadow policy and its agreement with the active one

        Agreement over every message decided since it was attached, the tally of
        (active, shadow) actions, and the disagreements newest first with both rules.
        """
        record = await existing_room(ctx, room_name(room))
        shadow = await ctx.db.run(repo.active_shadow, record.name)
        q = query_args
        return await _status(ctx, record, shadow, limit=q.limit, before_seq=q.before_seq)

    @bp.post("/rooms/<room>/shadow/promote")
    @documented("policy", {**ENDING, 409: ["stale_policy"]})
    @moderator
    @validate_response(models.ShadowEnded)
    async def shadow_promote(room: str, user: UserRecord) -> models.ShadowEnded:
        """Promote the shadow policy to active

        Saved as the room's next policy version (source "promoted shadow #id"), audited
        (`shadow_promote`) in the same transaction, and applied at once; the shadow ends.
        """
        record = await existing_room(ctx, room_name(room))
        name = record.name
        shadow = await ctx.db.run(repo.active_shadow, name)
        if shadow is None:
            raise ApiError(404, "no_shadow", f"room {name!r} has no shadow policy")
        version = current_version(ctx, record).version + 1
        policy = RoomPolicy.from_dict({**shadow.policy, "version": version})
        document = policy.to_dict()
        source = f"promoted shadow #{shadow.id}"

        def change(s: Any) -> ShadowRecord:
            ended = repo.detach_shadow(s, name, user.username, "promoted")
            if ended.id != shadow.id:
                raise NoShadow(name)  # replaced meanwhile: promote what the moderator saw only
            repo.save_room_policy(s, name, document, version, by=user.username, source=source)
            return ended

        def row_for(ended: ShadowRecord) -> ActionRow:
            detail = {"shadow_id": ended.id, "version": version, "policy": document}
            return ActionRow(actor=user.username, action="shadow_promote", room=name, detail=detail)

        try:
            ended = await audited(ctx, change, row_for)
        except NoShadow as exc:
            raise ApiError(404, "no_shadow", f"room {name!r} has no shadow policy") from exc
        except StalePolicyVersion as exc:
            raise ApiError(409, "stale_policy", "the policy changed meanwhile; reload") from exc
        announce(name, None)
        await apply_policy(ctx, name, policy)
        return models.ShadowEnded(
            room=name, id=ended.id, outcome="promoted", version=version, policy=document
        )

    @bp.post("/rooms/<room>/shadow/drop")
    @documented("policy", ENDING)
    @moderator
    @validate_response(models.ShadowEnded)
    async def shadow_drop(room: str, user: UserRecord) -> models.ShadowEnded:
        """Drop the shadow policy

        The room's messages are no longer decided by it; what it decided stays stored.
        Audited (`shadow_drop`).
        """
        record = await existing_room(ctx, room_name(room))
        name = record.name

        def row_for(ended: ShadowRecord) -> ActionRow:
            return ActionRow(
                actor=user.username, action="shadow_drop", room=name, detail={"shadow_id": ended.id}
            )

        try:
            ended = await audited(
                ctx, lambda s: repo.detach_shadow(s, name, user.username, "dropped"), row_for
            )
        except NoShadow as exc:
            raise ApiError(404, "no_shadow", f"room {name!r} has no shadow policy") from exc
        announce(name, None)
        return models.ShadowEnded(room=name, id=ended.id, outcome="dropped")


async def _status(
    ctx: AppContext,
    record: RoomRecord,
    shadow: ShadowRecord | None,
    *,
    limit: int,
    before_seq: int | None,
) -> models.ShadowStatus:
    active_version = current_version(ctx, record).version
    if shadow is None:
        return models.ShadowStatus(
            room=record.name,
            attached=False,
            active_version=active_version,
            decided=0,
            agreed=0,
            agreement=None,
        )
    tally = await ctx.db.run(repo.shadow_tally, shadow.id)
    rows = await ctx.db.run(repo.shadow_disagreements, shadow.id, limit, before_seq)
    try:
        policy: RoomPolicy | None = RoomPolicy.from_dict(shadow.policy)
    except PolicyError:
        policy = None
    decided = sum(tally.values())
    agreed = sum(n for (active, other), n in tally.items() if agrees(active, other))
    return models.ShadowStatus(
        room=record.name,
        attached=True,
        id=shadow.id,
        policy=shadow.policy,
        attached_by=shadow.attached_by,
        attached_at=shadow.attached_at,
        active_version=active_version,
        decided=decided,
        agreed=agreed,
        agreement=agreed / decided if decided else None,
        tally=[
            models.ShadowCell(active=plain_action(a), shadow=b, messages=n)
            for (a, b), n in sorted(tally.items())
        ],
        disagreements=[_disagreement(r, policy) for r in rows],
    )


def _disagreement(record: MessageRecord, policy: RoomPolicy | None) -> models.ShadowDisagreement:
    why = record.why or {}
    active_rule = str(why.get("text") or f"{record.action}, policy v{record.policy_version}")
    shadow_action = record.shadow_action or ""
    shadow_rule, version = shadow_action, 0
    if policy is not None:
        version = policy.version
        if record.scores:
            decision = policy.decide(record.text, record.scores, record.triggers)
        else:
            decision = policy.unscored(record.text)
        shadow_rule = decision.rule.text() if decision.rule is not None else decision.reason
    return models.ShadowDisagreement(
        id=record.id,
        seq=record.seq,
        ts=record.ts,
        user=record.username,
        text=record.text,
        scores={k: round(v, 4) for k, v in record.scores.items()},
        active=models.ReplayOutcome(
            action=plain_action(record.action),
            rule=active_rule,
            policy_version=record.policy_version,
        ),
        shadow=models.ReplayOutcome(action=shadow_action, rule=shadow_rule, policy_version=version),
    )
