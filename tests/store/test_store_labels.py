"""Moderator labels for the model, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from safestream.store import repo
from safestream.store.records import LabelRow


def label(**kw: object) -> LabelRow:
    values: dict[str, object] = {
        "text": "that trap murdered me lmao",
        "toxic": False,
        "source": "approve",
        "actor": "mod",
        "message_id": "m1",
        "room": "main",
        "model_toxic": True,
        "model_score": 0.93,
    }
    values.update(kw)
    return LabelRow(**values)  # type: ignore[arg-type]


def test_a_label_round_trips_every_field_with_who_decided(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        stored = repo.save_label(s, label(toxic=True, source="mark", categories=("threat",)))
    with sessions() as s:
        [back] = repo.list_labels(s)
    assert back == stored
    assert (back.actor, back.source, back.toxic, back.categories) == (
        "mod",
        "mark",
        True,
        ("threat",),
    )
    assert (back.model_toxic, back.model_score) == (True, 0.93)
    assert back.created_at.tzinfo is not None


def test_a_later_decision_on_the_same_message_replaces_the_label(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        first = repo.save_label(s, label())
    with sessions.begin() as s:
        second = repo.save_label(s, label(toxic=True, source="delete", actor="other"))
    with sessions() as s:
        assert [lab.id for lab in repo.list_labels(s)] == [first.id]
        assert repo.count_labels(s) == {"total": 1, "toxic": 1, "not_toxic": 0}
    assert (second.actor, second.source) == ("other", "delete")


def test_labels_list_newest_first_with_paging_and_counts(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        ids = [
            repo.save_label(s, label(message_id=None, text=f"text {i}", toxic=i % 2 == 0)).id
            for i in range(5)
        ]
    with sessions() as s:
        assert [lab.id for lab in repo.list_labels(s, 2)] == ids[::-1][:2]
        assert [lab.id for lab in repo.list_labels(s, 10, ids[2])] == ids[:2][::-1]
        assert repo.count_labels(s) == {"total": 5, "toxic": 3, "not_toxic": 2}


def test_label_rows_refuse_unknown_sources_categories_and_a_named_category_on_not_toxic() -> None:
    with pytest.raises(ValueError, match="source"):
        label(source="guess")
    with pytest.raises(ValueError, match="category"):
        label(toxic=True, categories=("rude",))
    with pytest.raises(ValueError, match="no categories"):
        label(toxic=False, categories=("threat",))
    with pytest.raises(ValueError, match="text"):
        label(text="  ")
