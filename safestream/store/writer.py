"""PersistenceWriter: the actor that stores messages, gifts and audit rows in batches.

Group commit: the writer takes the first request, collects more for up to
`STORE_FLUSH_MS` or `STORE_BATCH_SIZE` rows, writes them all in one transaction in a
worker thread, then answers every asker. A room acknowledges a chat message to its sender
(and the room) only after this answer, so an acknowledged message is durable.

Failures are answered, not crashed on, because a restart fixes neither:

- a **poison row** (one the database refuses while others go in) is isolated: the batch
  is retried request by request, and a failing request's messages one by one; only the
  refused messages are reported (`Stored.refused`), the rest of the batch is stored;
- an **outage** (the database is unreachable or too slow, or nothing of the batch can be
  written) fails every asker of the batch with `StoreUnavailable`; the writer stays up,
  shows `degraded` in the tree and tries again with the next batch.

Example:
    stored = await writer_ref.ask(Persist(messages=(row,)), timeout=5)   # durable on return
    assert not stored.refused
    writer_ref.tell_nowait(Persist(actions=(audit_row,)))                 # write-behind
    await writer_ref.ask(Flush(), timeout=5)        # everything asked before is written
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import trio
from sqlalchemy.exc import DBAPIError, OperationalError

from actors import Actor, ActorDied, Envelope, OverflowPolicy
from safestream.store import repo
from safestream.store.database import Database
from safestream.store.records import ActionRow, GiftRow, MessageRow

__all__ = ["Flush", "Persist", "PersistenceWriter", "StoreUnavailable", "Stored"]

WRITE_TIMEOUT_SECS = 30.0


@dataclass(frozen=True)
class Persist:
    """Rows to store in the next group commit; asking it waits until they are durable."""

    messages: tuple[MessageRow, ...] = ()
    gifts: tuple[GiftRow, ...] = ()
    actions: tuple[ActionRow, ...] = ()

    def __post_init__(self) -> None:
        if not (self.messages or self.gifts or self.actions):
            raise ValueError("Persist needs at least one row")

    @property
    def size(self) -> int:
        return len(self.messages) + len(self.gifts) + len(self.actions)


@dataclass(frozen=True)
class Flush:
    """Ask: answered (None) once every request the writer got before it was written or
    refused. A restarted room asks it before reading its last seq, so a batch its
    crashed predecessor left in flight is in the database, and in its history, first."""


@dataclass(frozen=True)
class Stored:
    """The answer to a Persist: every row is durable except the `refused` message ids."""

    refused: frozenset[str] = frozenset()


class StoreUnavailable(Exception):
    """Nothing of the request could be stored (database down, too slow, or refused)."""


class PersistenceWriter(Actor):
    """Batches rows into one transaction per batch; isolates poison rows; reports outages."""

    kind = "persistence_writer"
    overflow = OverflowPolicy.BLOCK

    def __init__(self, db: Database, *, batch_size: int, flush_secs: float) -> None:
        self._db = db
        self._batch_size = max(1, batch_size)
        self._flush_secs = flush_secs
        self._batches = 0
        self._rows = 0
        self._last_batch = 0
        self._refused_rows = 0
        self._failed_batches = 0
        self._last_error = ""
        self._degraded = False

    async def run(self) -> None:
        while batch := await self.receive_batch(
            max_size=self._batch_size, max_wait=self._flush_secs, size=self._size
        ):
            try:
                writes = [e for e in batch if not isinstance(e.message, Flush)]
                if writes:
                    await self._commit(writes)
                for envelope in batch:
                    if isinstance(envelope.message, Flush) and envelope.reply is not None:
                        envelope.reply.send(None)
            finally:
                # Crashed mid-batch (a message it cannot handle): no asker waits for its
                # timeout; the room tells the authors `not_saved`.
                for envelope in batch:
                    if envelope.reply is not None and not envelope.reply.done:
                        envelope.reply.fail(ActorDied("store writer stopped"))

    async def _commit(self, batch: Sequence[Envelope]) -> None:
        requests: list[Persist] = []
        for envelope in batch:
            if not isinstance(envelope.message, Persist):
                raise TypeError(f"PersistenceWriter cannot handle {envelope.message!r}")
            requests.append(envelope.message)
        try:
            await self._write(_merge(requests))
        except Exception as exc:
            self._last_error = _describe(exc)
            if _is_outage(exc):
                self._fail_all(batch, exc)
                return
            await self._isolate(batch)
            return
        self._stored(batch, [frozenset()] * len(batch))

    async def _isolate(self, batch: Sequence[Envelope]) -> None:
        """Retry request by request, then a failing request's messages one by one."""
        outcomes: list[frozenset[str] | Exception] = []
        for envelope in batch:
            request: Persist = envelope.message
            try:
                await self._write(request)
                outcomes.append(frozenset())
                continue
            except Exception as exc:
                if _is_outage(exc) or not request.messages:
                    outcomes.append(exc)
                    continue
            outcomes.append(await self._isolate_messages(request))
        if all(isinstance(outcome, Exception) for outcome in outcomes):
            self._fail_all(batch, outcomes[0])  # type: ignore[arg-type]
            return
        self._stored(batch, outcomes)

    async def _isolate_messages(self, request: Persist) -> frozenset[str] | Exception:
        """Store `request` without the messages the database refuses (those returned)."""
        refused: set[str] = set()
        for row in request.messages:
            try:
                await self._write(Persist(messages=(row,)))
            except Exception as exc:
                if _is_outage(exc):
                    return exc
                refused.add(row.id)
        if request.gifts or request.actions:
            try:
                await self._write(dataclasses.replace(request, messages=()))
            except Exception as exc:
                return exc
        if len(refused) == len(request.messages) and not (request.gifts or request.actions):
            return StoreUnavailable("every row of the request was refused")
        return frozenset(refused)

    async def _write(self, request: Persist) -> None:
        # Rows already taken from askers must not be lost to a shutdown: finish the
        # transaction (bounded by WRITE_TIMEOUT_SECS) even when cancelled.
        with trio.CancelScope(shield=True), trio.fail_after(WRITE_TIMEOUT_SECS):
            await self._db.run(
                repo.insert_batch, list(request.messages), list(request.gifts), request.actions
            )

    def _stored(
        self, batch: Sequence[Envelope], outcomes: Sequence[frozenset[str] | Exception]
    ) -> None:
        self._batches += 1
        self._degraded = False
        self._last_batch = 0
        for envelope, outcome in zip(batch, outcomes, strict=True):
            reply = envelope.reply
            if isinstance(outcome, Exception):
                self._failed_batches += 1
                if reply is not None:
                    reply.fail(StoreUnavailable(_describe(outcome)))
                continue
            self._refused_rows += len(outcome)
            self._last_batch += envelope.message.size - len(outcome)
            if reply is not None:
                reply.send(Stored(refused=outcome))
        self._rows += self._last_batch

    def _fail_all(self, batch: Sequence[Envelope], error: Exception) -> None:
        self._failed_batches += 1
        self._degraded = True
        for envelope in batch:
            if envelope.reply is not None:
                envelope.reply.fail(StoreUnavailable(_describe(error)))

    @staticmethod
    def _size(message: Any) -> int:
        return message.size if isinstance(message, Persist) else 1

    def introspect(self) -> dict[str, Any]:
        return {
            "batches": self._batches,
            "rows": self._rows,
            "last_batch_rows": self._last_batch,
            "refused_rows": self._refused_rows,
            "failed_batches": self._failed_batches,
            "degraded": self._degraded,
            "last_error": self._last_error,
        }


def _merge(requests: Sequence[Persist]) -> Persist:
    return Persist(
        messages=tuple(row for request in requests for row in request.messages),
        gifts=tuple(row for request in requests for row in request.gifts),
        actions=tuple(row for request in requests for row in request.actions),
    )


def _is_outage(exc: Exception) -> bool:
    """The database itself is unreachable or too slow (as opposed to refusing a row)."""
    if isinstance(exc, trio.TooSlowError | OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc)[:200]}"
