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

from quart import Blueprint, request

from actors import ActorDied, ActorError
from safestream.accounts.auth import Role
from safestream.moderation.trainer import Rollback, StartRetrain, TrainerStatus
from safestream.store import repo
from safestream.store.records import (
    LABEL_CATEGORIES,
    ActionRow,
    LabelRecord,
    LabelRow,
    MessageRecord,
)
from safestream.store.writer import Persist
from safestream.web.deps import ApiError, current_user, int_arg, json_body

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["label_decision", "label_json", "model_blueprint"]

MAX_LABEL_TEXT = 2000
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


def _verdict(body: dict[str, Any]) -> tuple[bool, tuple[str, ...]]:
    toxic = body.get("toxic")
    if not isinstance(toxic, bool):
        raise ApiError(422, "invalid_request", "toxic must be true or false")
    cats = body.get("categories", [])
    if not isinstance(cats, list) or not all(c in LABEL_CATEGORIES for c in cats):
        raise ApiError(
            422, "invalid_request", f"categories must be from {sorted(LABEL_CATEGORIES)}"
        )
    if cats and not toxic:
        raise ApiError(422, "invalid_request", "a 'not toxic' mark names no categories")
    return toxic, tuple(cats)


def model_blueprint(ctx: AppContext) -> Blueprint:
    bp = Blueprint("model", __name__, url_prefix="/api/model")

    async def audit(actor: str, action: str, **fields: Any) -> None:
        row = ActionRow(actor=actor, action=action, **fields)
        await ctx.address("store").ask(Persist(actions=(row,)), timeout=10.0)
        ctx.feed.notify("action", {"actor": actor, "action": action, **fields})

    async def trainer(message: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = await ctx.address("trainer").ask(message, timeout=180.0)
        except ActorDied as exc:
            cause = exc.cause
            raise ApiError(409, "model_unchanged", str(cause or exc)) from exc
        except (ActorError, TimeoutError) as exc:
            raise ApiError(503, "trainer_unavailable", str(exc)) from exc
        return answer

    @bp.post("/messages/<message_id>/label")
    async def mark_message(message_id: str) -> dict[str, Any]:
        mod = await current_user(ctx, Role.MODERATOR)
        toxic, cats = _verdict(await json_body())
        record = await ctx.db.run(repo.get_message, message_id)
        if record is None:
            raise ApiError(404, "message_not_found", "no such message")
        row = LabelRow(
            text=record.text,
            toxic=toxic,
            categories=cats,
            source="mark",
            actor=mod.username,
            message_id=record.id,
            room=record.room,
            model_toxic=record.toxic,
            model_score=record.score,
        )
        label = await ctx.db.run(repo.save_label, row)
        await audit(
            mod.username, "label", room=record.room, detail={"id": record.id, "toxic": toxic}
        )
        return label_json(label)

    @bp.post("/labels")
    async def mark_text() -> dict[str, Any]:
        mod = await current_user(ctx, Role.MODERATOR)
        body = await json_body()
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_LABEL_TEXT:
            raise ApiError(422, "invalid_request", f"text must be 1..{MAX_LABEL_TEXT} characters")
        toxic, cats = _verdict(body)
        row = LabelRow(text=text, toxic=toxic, categories=cats, source="mark", actor=mod.username)
        label = await ctx.db.run(repo.save_label, row)
        await audit(mod.username, "label", detail={"text": text[:200], "toxic": toxic})
        return label_json(label)

    @bp.get("/labels")
    async def labels() -> dict[str, Any]:
        await current_user(ctx, Role.MODERATOR)
        limit = int_arg("limit", 100, 1, 500)
        before = request.args.get("before")
        before_id = int(before) if before and before.isdigit() else None
        records = await ctx.db.run(repo.list_labels, limit, before_id)
        counts = await ctx.db.run(repo.count_labels)
        return {"labels": [label_json(r) for r in records], "counts": counts}

    @bp.get("/status")
    async def status() -> dict[str, Any]:
        await current_user(ctx, Role.MODERATOR)
        return await trainer(TrainerStatus())

    @bp.post("/retrain")
    async def start_retrain() -> dict[str, Any]:
        admin = await current_user(ctx, Role.ADMIN)
        answer = await trainer(StartRetrain(admin.username))
        await audit(admin.username, "model_retrain")
        return answer

    @bp.post("/rollback")
    async def rollback() -> dict[str, Any]:
        admin = await current_user(ctx, Role.ADMIN)
        answer = await trainer(Rollback(admin.username))
        await audit(
            admin.username, "model_rollback", detail={"version": answer.get("live_version")}
        )
        return answer

    return bp
