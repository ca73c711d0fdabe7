"""PersistenceWriter: the actor that stores messages, gifts and audit rows in batches.

Group commit: the writer takes the first request, collects more for up to
`STORE_FLUSH_MS` or `STORE_BATCH_SIZE` rows, writes them all in one transaction in a
worker thread, then answers every asker. A room acknowledges a chat message to its sender
(and the room) only after this answer, so an acknowledged message is durable.

Example:
    await writer_ref.ask(Persist(messages=(row,)), timeout=5)   # durable on return
    writer_ref.tell_nowait(Persist(actions=(audit_row,)))       # write-behind
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import trio

from actors import Actor, OverflowPolicy
from safestream.store import repo
from safestream.store.database import Database
from safestream.store.records import ActionRow, GiftRow, MessageRow

__all__ = ["Persist", "PersistenceWriter"]

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


class PersistenceWriter(Actor):
    """Batches rows into one transaction per batch; crashes (and is restarted) on DB errors."""

    kind = "persistence_writer"
    overflow = OverflowPolicy.BLOCK

    def __init__(self, db: Database, *, batch_size: int, flush_secs: float) -> None:
        self._db = db
        self._batch_size = max(1, batch_size)
        self._flush_secs = flush_secs
        self._batches = 0
        self._rows = 0
        self._last_batch = 0

    async def run(self) -> None:
        while batch := await self.receive_batch(
            max_size=self._batch_size, max_wait=self._flush_secs, size=self._size
        ):
            await self._commit(batch)

    async def _commit(self, batch: Sequence[Any]) -> None:
        requests = [envelope.message for envelope in batch]
        for request in requests:
            if not isinstance(request, Persist):
                raise TypeError(f"PersistenceWriter cannot handle {type(request).__name__}")
        messages = [row for request in requests for row in request.messages]
        gifts = [row for request in requests for row in request.gifts]
        actions = [row for request in requests for row in request.actions]
        try:
            # Rows already taken from askers must not be lost to a shutdown: finish the
            # transaction (bounded by WRITE_TIMEOUT_SECS) even when cancelled.
            with trio.CancelScope(shield=True), trio.fail_after(WRITE_TIMEOUT_SECS):
                await self._db.run(repo.insert_batch, messages, gifts, actions)
        except Exception as exc:
            for envelope in batch:
                if envelope.reply is not None:
                    envelope.reply.fail(exc)
            raise
        self._batches += 1
        self._last_batch = len(messages) + len(gifts) + len(actions)
        self._rows += self._last_batch
        for envelope in batch:
            if envelope.reply is not None:
                envelope.reply.send(None)

    @staticmethod
    def _size(message: Any) -> int:
        return message.size if isinstance(message, Persist) else 1

    def introspect(self) -> dict[str, Any]:
        return {"batches": self._batches, "rows": self._rows, "last_batch_rows": self._last_batch}
