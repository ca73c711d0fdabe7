"""Moderator labels for retraining the model. Part of :mod:`safestream.store.repo`.

One label per stored message (a moderator who changes their mind overwrites it: the
latest decision wins); texts marked without a message (``message_id`` None) each get
their own row.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import ModelLabel
from ..records import LabelRecord, LabelRow


def _record(m: ModelLabel) -> LabelRecord:
    return LabelRecord(
        id=m.id,
        message_id=m.message_id,
        room=m.room,
        text=m.text,
        toxic=m.toxic,
        categories=tuple(m.categories or ()),
        source=m.source,
        actor=m.actor,
        model_toxic=m.model_toxic,
        model_score=m.model_score,
        created_at=m.created_at,
    )


def save_label(s: Session, row: LabelRow) -> LabelRecord:
    """Insert ``row``, or replace the label of the same message; returns the stored label."""
    existing = None
    if row.message_id is not None:
        existing = s.scalars(
            select(ModelLabel).where(ModelLabel.message_id == row.message_id)
        ).one_or_none()
    label = existing or ModelLabel(message_id=row.message_id)
    label.room = row.room
    label.text = row.text
    label.toxic = row.toxic
    label.categories = list(row.categories)
    label.source = row.source
    label.actor = row.actor
    label.model_toxic = row.model_toxic
    label.model_score = row.model_score
    label.created_at = datetime.now(UTC)
    if existing is None:
        s.add(label)
    s.flush()
    return _record(label)


def list_labels(s: Session, limit: int = 100, before_id: int | None = None) -> list[LabelRecord]:
    """Labels newest first (by id), at most ``limit``, optionally older than ``before_id``."""
    query = select(ModelLabel).order_by(ModelLabel.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(ModelLabel.id < before_id)
    return [_record(m) for m in s.scalars(query)]


def count_labels(s: Session) -> dict[str, int]:
    """``{"total": n, "toxic": n, "not_toxic": n}``."""
    rows = s.execute(select(ModelLabel.toxic, func.count()).group_by(ModelLabel.toxic)).all()
    by = {bool(toxic): int(n) for toxic, n in rows}
    return {"total": sum(by.values()), "toxic": by.get(True, 0), "not_toxic": by.get(False, 0)}
