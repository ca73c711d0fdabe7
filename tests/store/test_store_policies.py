"""Policy history, shadow policies, replay windows and stored explanations, on SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from safestream import store
from safestream.store import repo
from safestream.store.errors import NoShadow, StalePolicyVersion

BANDS = {"bands": [{"category": "toxicity", "min_score": 0.6, "action": "hold"}]}


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
        "scores": {"toxicity": 0.01},
    }
    values.update(kw)
    return store.MessageRow(**values)


def write(sessions: sessionmaker[Session], messages: list[store.MessageRow]) -> None:
    with sessions.begin() as s:
        repo.insert_batch(s, messages, (), ())


def test_every_saved_policy_is_kept_with_who_and_how(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        repo.save_room_policy(s, "main", {"a": 1}, 2, by="mod", source="edit")
        repo.save_room_policy(s, "main", {"a": 1}, 2, by="mod")  # same again: a no-op
        repo.save_room_policy(s, "main", {"a": 2}, 3, by="boss", source="rollback to v2")
        repo.save_room_policy(s, "other", {"b": 1}, 2)
    with sessions() as s:
        history = repo.policy_versions(s, "main")
        assert [(v.version, v.policy, v.created_by, v.source) for v in history] == [
            (3, {"a": 2}, "boss", "rollback to v2"),
            (2, {"a": 1}, "mod", "edit"),
        ]
        assert [v.version for v in repo.policy_versions(s, "main", before=3)] == [2]
        assert [v.version for v in repo.policy_versions(s, "main", limit=1)] == [3]
        assert repo.policy_version(s, "main", 2) is not None
        assert repo.policy_version(s, "main", 4) is None
        assert repo.policy_documents(s, "main", {2, 3, 9}) == {2: {"a": 1}, 3: {"a": 2}}
        assert repo.get_room(s, "nowhere") is None
    with sessions.begin() as s, pytest.raises(StalePolicyVersion):
        repo.save_room_policy(s, "main", {"a": 3}, 3)


def test_attaching_a_shadow_replaces_the_active_one(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        first = repo.attach_shadow(s, "main", BANDS, "mod")
        second = repo.attach_shadow(s, "main", {"bands": []}, "boss")
        repo.attach_shadow(s, "other", BANDS, "mod")
    with sessions() as s:
        active = repo.active_shadow(s, "main")
        assert active is not None and active.id == second.id and active.active
        assert active.policy == {"bands": []} and active.attached_by == "boss"
        assert sorted(r.room for r in repo.active_shadows(s)) == ["main", "other"]
    with sessions.begin() as s:
        ended = repo.detach_shadow(s, "main", "mod", "promoted")
    assert (ended.id, ended.outcome, ended.detached_by) == (second.id, "promoted", "mod")
    assert ended.detached_at is not None and not ended.active
    with sessions() as s:
        assert repo.active_shadow(s, "main") is None
        old = s.execute(sa.text("SELECT outcome FROM room_shadows WHERE id = :i"), {"i": first.id})
        assert old.scalar_one() == "replaced"
    with sessions.begin() as s, pytest.raises(NoShadow):
        repo.detach_shadow(s, "main", "mod", "dropped")


def test_shadow_tally_and_disagreements_count_unscored_as_allow(
    sessions: sessionmaker[Session],
) -> None:
    write(
        sessions,
        [
            msg(1, action="allow", shadow_action="allow", shadow_id=7),
            msg(2, action="unscored", shadow_action="allow", shadow_id=7),
            msg(3, action="allow", shadow_action="hold", shadow_id=7),
            msg(4, action="hold", status="held", shadow_action="block", shadow_id=7),
            msg(5, action="allow", shadow_action="hold", shadow_id=8),
            msg(6, action="allow"),
        ],
    )
    with sessions() as s:
        assert repo.shadow_tally(s, 7) == {
            ("allow", "allow"): 1,
            ("unscored", "allow"): 1,
            ("allow", "hold"): 1,
            ("hold", "block"): 1,
        }
        assert [m.seq for m in repo.shadow_disagreements(s, 7)] == [4, 3]
        assert [m.seq for m in repo.shadow_disagreements(s, 7, limit=1)] == [4]
        assert [m.seq for m in repo.shadow_disagreements(s, 7, before_seq=4)] == [3]
        assert repo.shadow_tally(s, 99) == {}


def test_a_replay_window_is_read_in_pages_by_time_or_by_count(
    sessions: sessionmaker[Session],
) -> None:
    write(sessions, [msg(seq, status="held" if seq == 3 else "visible") for seq in range(1, 11)])
    write(sessions, [msg(1, room="other")])
    t0 = 1_700_000_000.0
    with sessions() as s:
        assert repo.window_count(s, "main") == 10
        assert repo.window_count(s, "main", since=t0 + 4, until=t0 + 8) == 4
        assert repo.window_count(s, "main", after_seq=7) == 3
        page = repo.window_messages(s, "main", since=t0 + 2, limit=3)
        assert [m.seq for m in page] == [2, 3, 4]  # every status
        page = repo.window_messages(s, "main", since=t0 + 2, limit=3, after_seq=4)
        assert [m.seq for m in page] == [5, 6, 7]
        assert [m.seq for m in repo.window_messages(s, "main", until=t0 + 3, limit=9)] == [1, 2]
        assert repo.seq_before_last(s, "main", 3) == 7
        assert repo.seq_before_last(s, "main", 2, since=t0 + 1, until=t0 + 6) == 3
        assert repo.seq_before_last(s, "main", 50) == 0


def test_a_message_keeps_its_why_and_shadow_decision(sessions: sessionmaker[Session]) -> None:
    why = {"rule": {"kind": "none", "action": "allow", "policy_version": 1}, "drivers_by": ""}
    write(sessions, [msg(1, why=why, shadow_action="hold", shadow_id=3)])
    with sessions() as s:
        record = repo.get_message(s, "main-00000001")
        assert record is not None
        assert (record.why, record.shadow_action, record.shadow_id) == (why, "hold", 3)
    explained = {**why, "drivers": [{"word": "x", "weight": 0.5}], "drivers_by": "occlusion"}
    with sessions.begin() as s:
        assert repo.set_message_why(s, "main-00000001", explained)
        assert not repo.set_message_why(s, "missing", explained)
    with sessions() as s:
        record = repo.get_message(s, "main-00000001")
        assert record is not None and record.why == explained


def test_a_message_row_refuses_an_unknown_shadow_action() -> None:
    with pytest.raises(ValueError, match="shadow_action"):
        msg(1, shadow_action="explode")


def test_upgrade_keeps_a_rooms_stored_policy_as_its_first_version(empty_db_url: str) -> None:
    engine = store.make_engine(empty_db_url)
    try:
        store.upgrade(engine, "0004")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO rooms (name, created_at, policy, policy_version) "
                    "VALUES ('main', CURRENT_TIMESTAMP, :p, 4), "
                    "('plain', CURRENT_TIMESTAMP, NULL, 0)"
                ),
                {"p": '{"bands": []}'},
            )
        store.upgrade(engine)
        with store.session_factory(engine)() as s:
            [kept] = repo.policy_versions(s, "main")
            assert (kept.version, kept.policy, kept.source) == (
                4,
                {"bands": []},
                "stored before history",
            )
            assert repo.policy_versions(s, "plain") == []
    finally:
        engine.dispose()
