"""Messages, gifts and the audit log in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from safestream import store
from safestream.store.models import Message


def msg(seq: int, room: str = "main", **kw: Any) -> store.MessageRow:
    values: dict[str, Any] = {
        "id": f"{room}-{seq:08d}",
        "room": room,
        "seq": seq,
        "username": "alice",
        "text": f"message {seq}",
        "ts": 1_700_000_000.0 + seq,
        "toxic": False,
        "score": 0.01,
        "scores": {"toxicity": 0.01, "insult": 0.0},
    }
    values.update(kw)
    return store.MessageRow(**values)


def write(
    sessions: sessionmaker[Session],
    messages: Sequence[store.MessageRow] = (),
    gifts: Sequence[store.GiftRow] = (),
    actions: Sequence[store.ActionRow] = (),
) -> None:
    with sessions.begin() as s:
        store.insert_batch(s, messages, gifts, actions)


def test_insert_batch_of_500_messages_commits_once_and_atomically(
    engine: sa.Engine, sessions: sessionmaker[Session]
) -> None:
    commits: list[None] = []
    sa.event.listen(engine, "commit", lambda _conn: commits.append(None))
    rows = [msg(seq) for seq in range(1, 501)]
    with sessions.begin() as s:
        store.insert_batch(s, rows, [], [])
        with sessions() as other:  # another connection sees nothing before the commit
            assert store.message_stats(other) == (0, 0)
    assert len(commits) == 1
    with sessions() as s:
        assert store.message_stats(s) == (500, 0)
        assert store.last_seq(s, "main") == 500


def test_insert_batch_with_duplicate_rolls_back_whole_batch(
    sessions: sessionmaker[Session],
) -> None:
    write(sessions, [msg(1)])
    with pytest.raises(sa.exc.IntegrityError), sessions.begin() as s:
        store.insert_batch(s, [msg(2), msg(3), msg(1)], [], [])
    with sessions() as s:
        assert store.last_seq(s, "main") == 1


def test_insert_batch_roundtrips_every_field(sessions: sessionmaker[Session]) -> None:
    row = msg(
        7,
        text="you idiot",
        toxic=True,
        score=0.91,
        scores={"toxicity": 0.91, "insult": 0.88},
        action="mask",
        delivered_text="you *****",
        triggers=["idiot"],
        policy_version=3,
    )
    write(sessions, [row])
    with sessions() as s:
        got = store.get_message(s, row.id)
        assert store.get_message(s, "missing") is None
    assert got is not None
    assert got.created_at.timestamp() == pytest.approx(row.ts)
    assert store.MessageRow(**{f: getattr(got, f) for f in row.__dataclass_fields__}) == row
    assert got.triggers == ("idiot",)


def test_room_history_returns_newest_visible_in_seq_order(sessions: sessionmaker[Session]) -> None:
    # Written out of order, with hidden statuses in between and another room.
    rows = [msg(seq) for seq in (5, 3, 1, 4, 2, 6)]
    rows += [msg(7, status="held", action="hold"), msg(8, status="blocked", action="block")]
    rows += [msg(1, room="other")]
    write(sessions, rows)
    with sessions() as s:
        assert [m.seq for m in store.room_history(s, "main", limit=100)] == [1, 2, 3, 4, 5, 6]
        assert [m.seq for m in store.room_history(s, "main", limit=3)] == [4, 5, 6]
        assert [m.seq for m in store.room_history(s, "main", 2, after_seq=2)] == [3, 4]
        assert store.room_history(s, "main", 10, after_seq=6) == []
        assert [m.room for m in store.room_history(s, "other", 10)] == ["other"]
        assert store.room_history(s, "empty", 10) == []


def test_last_seq_counts_every_status_and_is_zero_for_new_room(
    sessions: sessionmaker[Session],
) -> None:
    write(sessions, [msg(1), msg(2, status="held", action="hold")])
    with sessions() as s:
        assert store.last_seq(s, "main") == 2
        assert store.last_seq(s, "nowhere") == 0


def test_held_message_approve_makes_it_visible_and_audits(sessions: sessionmaker[Session]) -> None:
    write(sessions, [msg(1), msg(2, status="held", action="hold"), msg(3, status="held")])
    with sessions() as s:
        assert [m.seq for m in store.held_messages(s)] == [2, 3]
        assert [m.seq for m in store.room_history(s, "main", 10)] == [1]
    with sessions.begin() as s:
        approved = store.update_message_status(s, "main-00000002", "visible", "mod1")
        store.update_message_status(s, "main-00000003", "rejected", "mod2", reason="rude")
    assert approved.status == "visible"
    with sessions() as s:
        assert store.held_messages(s) == []
        assert [m.seq for m in store.room_history(s, "main", 10)] == [1, 2]
        log = store.audit_log(s)
    assert [(a.actor, a.action, a.target, a.room) for a in log] == [
        ("mod2", "reject", "alice", "main"),
        ("mod1", "approve", "alice", "main"),
    ]
    assert log[0].reason == "rude"
    assert log[0].detail == {"message_id": "main-00000003", "from": "held", "to": "rejected"}


def test_status_transitions_outside_the_table_are_refused(
    sessions: sessionmaker[Session],
) -> None:
    write(sessions, [msg(1), msg(2, status="blocked", action="block")])
    with sessions.begin() as s:
        store.update_message_status(s, "main-00000001", "deleted", "mod")
    with sessions() as s:
        with pytest.raises(store.InvalidTransition):
            store.update_message_status(s, "main-00000001", "visible", "mod")  # deleted: final
        with pytest.raises(store.InvalidTransition):
            store.update_message_status(s, "main-00000002", "visible", "mod")  # blocked: final
        with pytest.raises(store.MessageNotFound):
            store.update_message_status(s, "nope", "deleted", "mod")


def test_concurrent_moderators_only_one_status_change_wins(
    sessions: sessionmaker[Session],
) -> None:
    write(sessions, [msg(1, status="held", action="hold")])
    with sessions() as late:
        # The late moderator read the message while it was still held...
        stale = late.get(Message, "main-00000001")
        assert stale is not None
        assert stale.status == "held"
        # ...then another moderator approved it and committed.
        with sessions.begin() as early:
            store.update_message_status(early, "main-00000001", "visible", "early")
        with pytest.raises(store.InvalidTransition) as info:
            store.update_message_status(late, "main-00000001", "rejected", "late")
    assert info.value.current == "visible"
    with sessions() as s:
        assert [a.actor for a in store.audit_log(s)] == ["early"]
        message = store.get_message(s, "main-00000001")
        assert message is not None
        assert message.status == "visible"


def test_held_messages_filters_by_room_and_limits(sessions: sessionmaker[Session]) -> None:
    write(
        sessions,
        [msg(i, status="held") for i in range(1, 4)] + [msg(1, room="b", status="held")],
    )
    with sessions() as s:
        assert [m.room for m in store.held_messages(s, room="b")] == ["b"]
        assert len(store.held_messages(s, limit=2)) == 2


def test_recent_messages_filters_newest_first(sessions: sessionmaker[Session]) -> None:
    write(
        sessions,
        [
            msg(1),
            msg(2, username="bob", toxic=True, score=0.9, action="block", status="blocked"),
            msg(3, toxic=True, score=0.8, action="mask", delivered_text="***"),
            msg(1, room="b", username="bob"),
        ],
    )
    with sessions() as s:
        assert [m.id for m in store.recent_messages(s, room="main")] == [
            "main-00000003",
            "main-00000002",
            "main-00000001",
        ]
        assert {m.id for m in store.recent_messages(s, user="bob")} == {
            "main-00000002",
            "b-00000001",
        }
        assert [m.seq for m in store.recent_messages(s, toxic_only=True)] == [3, 2]
        assert [m.seq for m in store.recent_messages(s, action="block")] == [2]
        assert len(store.recent_messages(s, limit=1)) == 1
        assert store.message_stats(s) == (4, 2)


def test_top_gifters_sums_amounts_and_filters_by_room(sessions: sessionmaker[Session]) -> None:
    def gift(user: str, amount: int, room: str = "main") -> store.GiftRow:
        return store.GiftRow(room=room, from_user=user, gift_id=1, amount=amount, ts=1.0)

    write(
        sessions,
        gifts=[gift("a", 5), gift("b", 3), gift("a", 1), gift("c", 6), gift("b", 100, "other")],
    )
    with sessions() as s:
        assert store.top_gifters(s) == [("b", 103), ("a", 6), ("c", 6)]
        assert store.top_gifters(s, room="main") == [("a", 6), ("c", 6), ("b", 3)]
        assert store.top_gifters(s, limit=1, room="main") == [("a", 6)]
        assert store.gift_count(s) == 5


def test_audit_log_filters_newest_first(sessions: sessionmaker[Session]) -> None:
    actions = [
        store.ActionRow(actor="admin", action="ban", target="troll", reason="spam", ts=10.0),
        store.ActionRow(actor="mod", action="kick", target="troll", room="main", ts=20.0),
        store.ActionRow(actor="mod", action="mute", target="bob", duration_secs=60, ts=30.0),
        store.ActionRow(actor="admin", action="reset_metrics", detail={"by": "cli"}, ts=40.0),
    ]
    write(sessions, actions=actions)
    with sessions() as s:
        assert [a.action for a in store.audit_log(s)] == ["reset_metrics", "mute", "kick", "ban"]
        assert [a.action for a in store.audit_log(s, actor="mod")] == ["mute", "kick"]
        assert [a.action for a in store.audit_log(s, target="troll")] == ["kick", "ban"]
        assert [a.action for a in store.audit_log(s, actor="admin", target="troll")] == ["ban"]
        assert [a.action for a in store.audit_log(s, room="main")] == ["kick"]
        assert [a.action for a in store.audit_log(s, limit=1)] == ["reset_metrics"]
        mute = store.audit_log(s, action="mute")[0]
    assert mute.duration_secs == 60
    assert mute.ts == 30.0
    assert mute.created_at.tzinfo is not None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "x" * 33),
        ("id", ""),
        ("action", "nuke"),
        ("status", "gone"),
        ("score", 1.5),
        ("scores", {"toxicity": float("nan")}),
        ("seq", -1),
        ("ts", float("inf")),
        ("triggers", "idiot"),
    ],
)
def test_message_row_validates_values(field: str, value: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        msg(1, **{field: value})


def test_rows_copy_mutable_arguments() -> None:
    scores = {"toxicity": 0.5}
    row = msg(1, scores=scores, triggers=["a"])
    scores["toxicity"] = 0.9
    assert row.scores == {"toxicity": 0.5}
    assert row.triggers == ("a",)
    with pytest.raises(ValueError):
        store.ActionRow(actor="mod", action="Kick user")
