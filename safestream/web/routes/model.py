"""`/api/model/*`: moderators' labels for the model, and the admin's retrain / rollback.

Moderators (and admins):

* ``POST /api/model/messages/<id>/label`` ``{"toxic": true, "categories": ["threat"]}``:
  mark a stored message toxic / not toxic (an explicit mark is always stored);
* ``POST /api/model/labels`` ``{"text": "...", "toxic": false}``: mark a text that is not
  a stored message;
* ``GET /api/model/labels?limit=100&before=<id>``: labels, newest first, and counts;
* ``GET /api/model/status``: the live version, the previous one, the last retrain.

Admins: ``POST /api/model/retrain`` (starts in the background; poll the status) and
``POST /api/model/rollback``. Both are audited.

:func:`label_decision` is what the moderator routes elsewhere call (one call each in
``admin.py``): an approve of a message the model flagged, or a delete or time-out of a
message it let through, is stored as a label with who decided.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quart import Blueprint
from quart_schema import validate_querystring, validate_request

from actors import ActorDied, ActorError
from safestream.accounts.auth import Role
from safestream.moderation.trainer import Rollback, StartRetrain, TrainerStatus
from safestream.store import repo
from safestream.store.records import ActionRow, LabelRecord, LabelRow, MessageRecord, UserRecord
from safestream.web.deps import ApiError, authenticated, documented
from safestream.web.models.requests import LabelRequest, LabelsQuery, TextLabelRequest
from safestream.web.routes.audited import applied_and_audited

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["label_decision", "label_json", "model_blueprint"]

# What each moderator decision says about the message: True = toxic.
VERDICT = {"approve": False, "delete": True, "timeout": True}


async def label_decision(
    ctx: AppContext, message: MessageRecord | str | None, actor: str, source: str
) -> LabelRecord | None:
    """Store a label when a moderator's decision on ``message`` says the model was wrong.

    ``source`` is ``approve`` (not toxic), ``delete`` or ``timeout`` (toxic). ``message``
    is the stored message or its id (``None``: nothing to learn, e.g. a time-out given
    without naming a message). Returns the label, or None when the model was right.
    """
    if message is None:
        return None
    record = (
        message
        if isinstance(message, MessageRecord)
        else await ctx.db.run(repo.get_message, message)
    )
    if record is None:
        return None
    toxic = VERDICT[source]
    if record.toxic == toxic:
        return None
    row = LabelRow(
        text=record.text,
        toxic=toxic,
        source=source,
        actor=actor,
        message_id=record.id,
        room=record.room,
        model_toxic=record.toxic,
        model_score=record.score,
    )
    return await ctx.db.run(repo.save_label, row)


def label_json(label: LabelRecord) -> dict[str, Any]:
    return {
        "id": label.id,
        "message_id": label.message_id,
        "room": label.room,
        "text": label.text,
        "toxic": label.toxic,
        "categories": list(label.categories),
        "source": label.source,
        "actor": label.actor,
        "model_toxic": label.model_toxic,
        "model_score": label.model_score,
        "created_at": label.created_at.isoformat(),
    }


def model_blueprint(ctx: AppContext) -> Blueprint:
    bp = Blueprint("model", __name__, url_prefix="/api/model")
    moderator = authenticated(ctx, Role.MODERATOR)
    admin = authenticated(ctx, Role.ADMIN)

    async def audit(actor: str, action: str, **fields: Any) -> None:
        await applied_and_audited(ctx, None, ActionRow(actor=actor, action=action, **fields))

    async def trainer(message: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = await ctx.address("trainer").ask(message, timeout=180.0)
        except ActorDied as exc:
            cause = exc.cause
            raise ApiError(409, "model_unchanged", str(cause or exc)) from exc
        except (ActorError, TimeoutError) as exc:
            raise ApiError(503, "trainer_unavailable", "the trainer is not available") from exc
        return answer

    @bp.post("/messages/<message_id>/label")
    @documented("model", {404: ["message_not_found"], 503: ["not_saved"]})
    @moderator
    @validate_request(LabelRequest)
    async def mark_message(message_id: str, data: LabelRequest, user: UserRecord) -> dict[str, Any]:
        """Mark a stored message toxic or not (a label for the model)"""
        record = await ctx.db.run(repo.get_message, message_id[:64])
        if record is None:
            raise ApiError(404, "message_not_found", "no such message")
        row = LabelRow(
            text=record.text,
            toxic=data.toxic,
            categories=tuple(data.categories),
            source="mark",
            actor=user.username,
            message_id=record.id,
            room=record.room,
            model_toxic=record.toxic,
            model_score=record.score,
        )
        label = await ctx.db.run(repo.save_label, row)
        detail = {"id": record.id, "toxic": data.toxic}
        await audit(user.username, "label", room=record.room, detail=detail)
        return label_json(label)

    @bp.post("/labels")
    @documented("model", {503: ["not_saved"]})
    @moderator
    @validate_request(TextLabelRequest)
    async def mark_text(data: TextLabelRequest, user: UserRecord) -> dict[str, Any]:
        """Mark a text toxic or not (a label for the model)"""
        row = LabelRow(
            text=data.text,
            toxic=data.toxic,
            categories=tuple(data.categories),
            source="mark",
            actor=user.username,
        )
        label = await ctx.db.run(repo.save_label, row)
        await audit(user.username, "label", detail={"text": data.text[:200], "toxic": data.toxic})
        return label_json(label)

    @bp.get("/labels")
    @documented("model")
    @moderator
    @validate_querystring(LabelsQuery)
    async def labels(query_args: LabelsQuery, user: UserRecord) -> dict[str, Any]:
        """Labels, newest first, and their counts"""
        records = await ctx.db.run(repo.list_labels, query_args.limit, query_args.before)
        counts = await ctx.db.run(repo.count_labels)
        return {"labels": [label_json(r) for r in records], "counts": counts}

    @bp.get("/status")
    @documented("model", {503: ["trainer_unavailable"]})
    @moderator
    async def status(user: UserRecord) -> dict[str, Any]:
        """The live model version, the previous one, the last retrain"""
        return await trainer(TrainerStatus())

    @bp.post("/retrain")
    @documented("model", {409: ["model_unchanged"], 503: ["trainer_unavailable", "not_saved"]})
    @admin
    async def start_retrain(user: UserRecord) -> dict[str, Any]:
        """Retrain on the shipped data and the labels (in the background; poll the status)"""
        answer = await trainer(StartRetrain(user.username))
        await audit(user.username, "model_retrain")
        return answer

    @bp.post("/rollback")
    @documented("model", {409: ["model_unchanged"], 503: ["trainer_unavailable", "not_saved"]})
    @admin
    async def rollback(user: UserRecord) -> dict[str, Any]:
        """Go back to the previous model version"""
        answer = await trainer(Rollback(user.username))
        detail = {"version": answer.get("live_version")}
        await audit(user.username, "model_rollback", detail=detail)
        return answer

    return bp
