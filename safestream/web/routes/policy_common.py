"""What the policy routes share: rooms that must exist, candidate policies, stored
versions, applying a policy everywhere, and the "why" of stored messages.

A refusal that concerns one field of the request is a `FieldError`: the usual
`{"detail", "error"}` body plus `fields: [{"field", "message"}]`, as schema errors have,
so a client can point at the field at fault.

Example:
    record = await existing_room(ctx, room_name(room))             # 404 room_not_found
    policy, label = await candidate(ctx, record, data)             # "unsaved" or "v3"
    await apply_policy(ctx, record.name, policy)                   # every node, the room
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actors import ActorError
from safestream.chat.room_messages import SetPolicy
from safestream.chat.room_supervisor import running_room
from safestream.cluster.agent import Control
from safestream.moderation.policy import PolicyError, RoomPolicy
from safestream.store import repo
from safestream.store.records import ActionRow, MessageRecord, RoomRecord
from safestream.web.deps import ApiError
from safestream.web.models.requests import PolicyUpdate
from safestream.web.models.whatif import Candidate

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = [
    "FieldError",
    "apply_policy",
    "audited",
    "candidate",
    "current_version",
    "existing_room",
    "policy_from",
    "stored_version",
    "whys_of",
]

T = TypeVar("T")


class FieldError(ApiError):
    """An `ApiError` about one field of the request, named in `fields`."""

    def __init__(self, status: int, code: str, field: str, message: str) -> None:
        super().__init__(status, code, f"{field}: {message}")
        self.field = field
        self.message = message

    def body(self) -> dict[str, Any]:
        return {**super().body(), "fields": [{"field": self.field, "message": self.message}]}


async def existing_room(ctx: AppContext, name: str) -> RoomRecord:
    """The stored room `name` (never created here), or 404 `room_not_found`."""
    record = await ctx.db.run(repo.get_room, name)
    if record is None:
        raise ApiError(404, "room_not_found", f"no room {name!r}")
    return record


def current_version(ctx: AppContext, record: RoomRecord) -> RoomPolicy:
    """The room's active policy (the default one, version 1, until one is saved)."""
    settings = ctx.settings
    return RoomPolicy.stored_or_default(
        record.policy,
        record.policy_version,
        threshold=settings.toxic_threshold,
        failure_mode=settings.moderation_failure_mode,
    )


def policy_from(update: PolicyUpdate, version: int) -> RoomPolicy:
    """The editor's values as a policy numbered `version`, or 422 naming the field."""
    fields = update.model_dump(exclude_unset=True, exclude={"version"})
    try:
        return RoomPolicy.from_dict({**fields, "version": version})
    except PolicyError as exc:
        raise FieldError(422, "invalid_policy", "policy", str(exc)) from exc


async def stored_version(ctx: AppContext, record: RoomRecord, version: int) -> RoomPolicy:
    """Version `version` of the room's policy, or 404 `version_not_found`.

    Version 1 is the default policy unless one was saved under that number.
    """
    current = current_version(ctx, record)
    if version == current.version:
        return current
    found = await ctx.db.run(repo.policy_version, record.name, version)
    if found is not None:
        return RoomPolicy.from_dict({**found.policy, "version": version})
    if version == 1:
        return current_default(ctx)
    raise FieldError(404, "version_not_found", "version", f"room has no policy v{version}")


def current_default(ctx: AppContext) -> RoomPolicy:
    settings = ctx.settings
    return RoomPolicy.default(
        threshold=settings.toxic_threshold, failure_mode=settings.moderation_failure_mode
    )


async def candidate(ctx: AppContext, record: RoomRecord, data: Candidate) -> tuple[RoomPolicy, str]:
    """The candidate policy of a request and its label ("unsaved" or "v3").

    Unsaved values are numbered as the version they would get if saved now.
    """
    if data.policy is not None:
        return policy_from(data.policy, current_version(ctx, record).version + 1), "unsaved"
    assert data.version is not None  # the model allows exactly one of the two
    return await stored_version(ctx, record, data.version), f"v{data.version}"


async def apply_policy(ctx: AppContext, room: str, policy: RoomPolicy) -> None:
    """A stored policy takes effect: on the other nodes, and in the room if it runs here."""
    ctx.cluster.announce(Control("policy", room, {"policy": policy.to_dict()}))
    ref = running_room(ctx.system.registry, room)
    if ref is not None:
        try:
            ref.tell_nowait(SetPolicy(policy))
        except ActorError:
            pass  # a starting room reads the stored policy itself


async def audited(
    ctx: AppContext, change: Callable[[Session], T], row_for: Callable[[T], ActionRow]
) -> T:
    """`change` and the audit row built from its result, in one transaction.

    As `applied_and_audited`, for changes whose audit row names what they made (a new
    version, a shadow's id).

    Raises:
        ApiError: 503 `not_saved` when the transaction failed (nothing was changed).
    """
    rows: list[ActionRow] = []

    def transaction(session: Session) -> T:
        result = change(session)
        rows.append(row_for(result))
        repo.insert_batch(session, (), (), rows)
        return result

    try:
        result = await ctx.db.run(transaction)
    except SQLAlchemyError as exc:
        raise ApiError(
            503, "not_saved", "the change could not be recorded, so nothing changed"
        ) from exc
    row = rows[-1]
    fields = {k: v for k, v in dataclasses.asdict(row).items() if v is not None and k != "ts"}
    ctx.feed.notify("action", fields)
    return result


async def whys_of(ctx: AppContext, records: Sequence[MessageRecord]) -> dict[str, dict[str, Any]]:
    """`{message id: why}` for stored messages; messages stored before decisions carried
    their why get it from the policy version that decided them (when it is known)."""
    whys = {r.id: dict(r.why) for r in records if r.why}
    missing = [r for r in records if not r.why]
    by_room: dict[str, list[MessageRecord]] = {}
    for record in missing:
        by_room.setdefault(record.room, []).append(record)
    for room, found in by_room.items():
        versions = {r.policy_version for r in found}
        documents = await ctx.db.run(repo.policy_documents, room, versions)
        for record in found:
            policy = _policy_of(ctx, documents, record.policy_version)
            if policy is None:
                continue
            if record.scores:
                decision = policy.decide(record.text, record.scores, record.triggers)
            else:
                decision = policy.unscored(record.text)
            whys[record.id] = decision.why().as_dict()
    return whys


def _policy_of(
    ctx: AppContext, documents: dict[int, dict[str, Any]], version: int
) -> RoomPolicy | None:
    if version in documents:
        try:
            return RoomPolicy.from_dict({**documents[version], "version": version})
        except PolicyError:
            return None
    if version == 1:
        return current_default(ctx)
    return None
