"""An admin action and its audit row in one database transaction, or neither.

`applied_and_audited(ctx, change, row)` runs `change(session)` (e.g. `repo.set_mute`) and
inserts the audit `row` in the same transaction. Callers change this node's in-memory
state (sanctions, sockets, rooms) only after it returns, so a failed audit write leaves
nothing applied anywhere.

Example:
    await applied_and_audited(ctx, lambda s: repo.set_mute(s, "ann", until), row)
    ctx.sanctions.mute_until("ann", until.timestamp())
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from safestream.store import repo
from safestream.store.errors import UserNotFound
from safestream.store.records import ActionRow
from safestream.web.deps import ApiError

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["applied_and_audited"]

T = TypeVar("T")


async def applied_and_audited(
    ctx: AppContext, change: Callable[[Session], T] | None, row: ActionRow
) -> T | None:
    """Run `change` and insert the audit `row` in one transaction; notify moderators.

    Raises:
        ApiError: 503 `not_saved` when the transaction failed (nothing was applied),
            404 `user_not_found` when the target vanished meanwhile.
    """

    def transaction(session: Session) -> T | None:
        result = change(session) if change is not None else None
        repo.insert_batch(session, (), (), (row,))
        return result

    try:
        result = await ctx.db.run(transaction)
    except UserNotFound as exc:
        raise ApiError(404, "user_not_found", "no such user") from exc
    except SQLAlchemyError as exc:
        raise ApiError(
            503, "not_saved", "the action could not be recorded, so it was not applied"
        ) from exc
    fields = {k: v for k, v in dataclasses.asdict(row).items() if v is not None and k != "ts"}
    ctx.feed.notify("action", fields)
    return result
