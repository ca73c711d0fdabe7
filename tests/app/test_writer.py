"""PersistenceWriter: group commit, poison rows isolated, outages answered not crashed on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio
import trio.testing
from appkit import InlineDatabase
from sqlalchemy.exc import OperationalError

from actors import ActorRef, ActorSystem, ChildSpec, Supervisor
from safestream.store import repo
from safestream.store.records import MessageRow
from safestream.store.writer import Persist, PersistenceWriter, Stored, StoreUnavailable

T = TypeVar("T")


class SwitchableDatabase(InlineDatabase):
    """A database that can be taken down (every call raises OperationalError)."""

    down = False

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self.down:
            raise OperationalError("INSERT ...", {}, ConnectionRefusedError("db down"))
        return await super().run(fn, *args)


def row(seq: int, text: str = "hello", user: str = "ann") -> MessageRow:
    return MessageRow(
        id=f"m{seq:031d}", room="main", seq=seq, username=user, text=text, ts=1.0 * seq,
        toxic=False, score=0.0,
    )  # fmt: skip


@asynccontextmanager
async def writer(tmp_path: Path) -> AsyncIterator[tuple[ActorRef[Any], SwitchableDatabase]]:
    db = SwitchableDatabase(f"sqlite:///{tmp_path}/w.db", threads=1)
    db.upgrade()
    spec = ChildSpec(
        "store", lambda: PersistenceWriter(db, batch_size=64, flush_secs=0.01), register="store"
    )
    try:
        async with ActorSystem.open(Supervisor([spec], max_restarts=0), name="t") as system:
            ref = system.lookup("store")
            assert ref is not None
            yield ref, db
    finally:
        db.dispose()


def stored_seqs(db: InlineDatabase) -> list[int]:
    return [m.seq for m in db.run_sync(repo.room_history, "main", 100)]


async def test_a_batch_is_stored_in_one_commit_and_answered(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with writer(tmp_path) as (ref, db):
        answers: list[Stored] = []
        async with trio.open_nursery() as nursery:
            for seq in (1, 2, 3):
                request = Persist(messages=(row(seq),))
                nursery.start_soon(lambda r=request: _ask_into(ref, r, answers))
        assert answers == [Stored(), Stored(), Stored()]
        assert stored_seqs(db) == [1, 2, 3]
        info = ref.statistics()
        assert info.depth == 0


async def _ask_into(ref: ActorRef[Any], request: Persist, out: list[Any]) -> None:
    out.append(await ref.ask(request, timeout=5))


async def test_a_poison_row_is_refused_alone_and_the_rest_of_its_batch_is_stored(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with writer(tmp_path) as (ref, db):
        poison = row(2, text="bad \ud800 text", user="mallory")
        answer = await ref.ask(Persist(messages=(row(1), poison, row(3))), timeout=5)
        assert answer == Stored(refused=frozenset({poison.id}))
        assert stored_seqs(db) == [1, 3]
        # The writer is still the same incarnation and keeps working.
        assert await ref.ask(Persist(messages=(row(4),)), timeout=5) == Stored()
        assert stored_seqs(db) == [1, 3, 4]


async def test_a_request_of_only_poison_fails_without_taking_others_down(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with writer(tmp_path) as (ref, db):
        results: dict[str, Any] = {}

        async def ask(name: str, request: Persist) -> None:
            try:
                results[name] = await ref.ask(request, timeout=5)
            except StoreUnavailable as exc:
                results[name] = exc

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask, "poison", Persist(messages=(row(1, "\udfff"),)))
            nursery.start_soon(ask, "fine", Persist(messages=(row(2),)))
        assert isinstance(results["poison"], StoreUnavailable)
        assert results["fine"] == Stored()
        assert stored_seqs(db) == [2]


async def test_an_outage_fails_the_askers_and_the_writer_recovers_with_the_database(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with writer(tmp_path) as (ref, db):
        db.down = True
        with pytest.raises(StoreUnavailable, match="OperationalError"):
            await ref.ask(Persist(messages=(row(1),)), timeout=5)
        db.down = False
        assert await ref.ask(Persist(messages=(row(2),)), timeout=5) == Stored()
        assert stored_seqs(db) == [2]
