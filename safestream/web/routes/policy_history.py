"""`/api/admin/rooms/<room>/policy/versions` and `/rollback`: a room's policy history.

Every saved policy is kept with who saved it and how (an edit, a rollback, a promoted
shadow). A rollback saves the chosen version's policy again as the next version, audited
(`policy_rollback`) in the same transaction, and applies it at once: history only grows,
so a rollback can itself be rolled back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from quart import Blueprint
from quart_schema import validate_querystring, validate_request, validate_response

from safestream.moderation.policy import RoomPolicy
from safestream.store import repo
from safestream.store.errors import StalePolicyVersion
from safestream.store.records import ActionRow, UserRecord
from safestream.web.deps import ApiError, documented, room_name
from safestream.web.models import responses as out
from safestream.web.models import whatif as models
from safestream.web.routes.policy_common import (
    FieldError,
    apply_policy,
    audited,
    current_version,
    existing_room,
    stored_version,
)

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["history_routes"]

Decorator = Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]


def history_routes(bp: Blueprint, ctx: AppContext, moderator: Decorator) -> None:
    """Add the history routes to the what-if blueprint; `moderator` checks the role."""

    @bp.get("/rooms/<room>/policy/versions")
    @documented("policy", {404: ["room_not_found"], 422: ["invalid_room"]})
    @moderator
    @validate_querystring(models.VersionsQuery)
    @validate_response(models.PolicyVersions)
    async def policy_versions(
        room: str, query_args: models.VersionsQuery, user: UserRecord
    ) -> models.PolicyVersions:
        """A room's saved policies, newest first

        Every version ever saved (edits, rollbacks, promoted shadows) with who saved it
        and how; version 1 is the default policy when none was saved under it.
        """
        record = await existing_room(ctx, room_name(room))
        q = query_args
        current = current_version(ctx, record).version
        rows = await ctx.db.run(repo.policy_versions, record.name, q.limit, q.before)
        entries = [
            models.PolicyVersionEntry(
                version=r.version,
                created_at=r.created_at,
                created_by=r.created_by,
                source=r.source,
                current=r.version == current,
                policy={**r.policy, "version": r.version},
            )
            for r in rows
        ]
        listed = {entry.version for entry in entries}
        if 1 not in listed and len(entries) < q.limit and (q.before is None or q.before > 1):
            default = await stored_version(ctx, record, 1)
            entries.append(
                models.PolicyVersionEntry(
                    version=1,
                    created_at=None,
                    created_by=None,
                    source="default",
                    current=current == 1,
                    policy=default.to_dict(),
                )
            )
        return models.PolicyVersions(room=record.name, current=current, versions=entries)

    @bp.post("/rooms/<room>/policy/rollback")
    @documented(
        "policy",
        {
            404: ["room_not_found", "version_not_found"],
            409: ["stale_policy", "already_current"],
            422: ["invalid_room"],
            503: ["not_saved"],
        },
    )
    @moderator
    @validate_request(models.RollbackRequest)
    @validate_response(out.Policy)
    async def policy_rollback(
        room: str, data: models.RollbackRequest, user: UserRecord
    ) -> out.Policy:
        """Roll a room's policy back to an earlier version

        The chosen version's policy is saved again as the next version (history only
        grows), audited as `policy_rollback`, and applied to the room at once.
        """
        record = await existing_room(ctx, room_name(room))
        current = current_version(ctx, record)
        if data.version == current.version:
            raise FieldError(409, "already_current", "version", f"v{data.version} is in force")
        restored = await stored_version(ctx, record, data.version)
        policy = RoomPolicy.from_dict({**restored.to_dict(), "version": current.version + 1})
        document = policy.to_dict()
        name, source = record.name, f"rollback to v{data.version}"

        def row_for(_saved: object) -> ActionRow:
            detail = {"from": current.version, "restored": data.version, "policy": document}
            reason = data.reason.strip() or None
            return ActionRow(
                actor=user.username,
                action="policy_rollback",
                room=name,
                reason=reason,
                detail=detail,
            )

        try:
            await audited(
                ctx,
                lambda s: repo.save_room_policy(
                    s, name, document, policy.version, by=user.username, source=source
                ),
                row_for,
            )
        except StalePolicyVersion as exc:
            raise ApiError(409, "stale_policy", "the policy changed meanwhile; reload") from exc
        await apply_policy(ctx, name, policy)
        return out.Policy.model_validate(document)
