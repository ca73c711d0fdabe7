"""The database unavailable for a few seconds, under traffic: senders are told
`not_saved` (never a silent loss, never a crash), and chat works again after it.

SQLite, because an outage can be made exactly and black-box: another connection holds
an exclusive lock on the node's database file, as a long migration or a backup would.
The node's writes wait `SQLITE_BUSY_TIMEOUT_MS` (500 ms here instead of the default
5 s, so the outage is a few seconds and many batches fail inside it), then fail with
`database is locked`. Reads go on (WAL), so viewers can still join.
(PostgreSQL would not fail writes here: a locked table makes them wait, not fail.)
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import trio
from chaoskit import DatabaseLock, Node, find_actor, running_node, wait_for_check, wait_until
from chatpeers import chatting_peers, check_recovery, quiesce

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

SENDERS = ("db_ann", "db_bob", "db_cid")
OUTAGE_SECS = 3.0  # at least; the lock is held until every sender has been told


async def store_degraded(node: Node) -> bool:
    store = find_actor(await node.actors(), "/safestream/store")
    assert store is not None
    return bool(store["info"]["degraded"])


async def test_a_database_outage_is_told_to_senders_and_chat_resumes_after_it(
    tmp_path: Path,
) -> None:
    env = {"SQLITE_BUSY_TIMEOUT_MS": "500", "MESSAGES_PER_SECOND": "20", "MESSAGE_BURST": "20"}
    async with running_node(tmp_path, **env) as node, trio.open_nursery() as nursery:
        peers = await chatting_peers(nursery, node, SENDERS, send_every=0.1)
        await wait_until(lambda: all(len(p.acked) >= 5 for p in peers), what="5 echoes each")

        lock = DatabaseLock(tmp_path / "e2e.db")
        await lock.hold()
        held = time.monotonic()
        await wait_for_check(lambda: store_degraded(node), what="the store reports the outage")
        await wait_until(
            lambda: (
                all(p.errors["not_saved"] >= 2 for p in peers)
                and time.monotonic() - held >= OUTAGE_SECS
            ),
            what="every sender told `not_saved`",
        )
        assert await node.healthy()
        acked_in_outage = {p.user: len(p.acked) for p in peers}
        await lock.release()

        await wait_until(
            lambda: all(len(p.acked) >= acked_in_outage[p.user] + 5 for p in peers),
            what="every sender chatting again",
        )
        assert not await store_degraded(node)
        await quiesce(peers)
        for peer in peers:
            peer.stop()
            assert peer.closes == [], f"{peer.user}: {peer.closes}"
            assert set(peer.errors) == {"not_saved"}, peer.errors
        check_recovery(peers, await node.history("main"))
        assert await node.healthy()
