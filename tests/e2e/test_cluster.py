"""Several real `safestream serve` processes share rooms through Redis or NATS and one
PostgreSQL: one order and no duplicates across nodes, a mute made on one node holds on
the other, `/metrics` counts the cluster, and a room outlives its owner's `kill -9`."""

from __future__ import annotations

import itertools
import json
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import trio
from conftest import AppProcess, free_port, serve_command

from safestream.chat_client import open_chat_socket

pytestmark = pytest.mark.e2e

BROKERS = {"redis": "redis://127.0.0.1:6379/0", "nats": "nats://127.0.0.1:4222"}
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def schema() -> Iterator[str]:
    """A PostgreSQL schema of its own, dropped afterwards."""
    name = f"safestream_e2e_{secrets.token_hex(4)}"
    engine = sa.create_engine(POSTGRES, poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    try:
        yield name
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        engine.dispose()


def start_nodes(
    tmp_path: Path, kind: str, schema: str, names: tuple[str, ...], **env: str
) -> list[AppProcess]:
    namespace = f"e2e{secrets.token_hex(4)}"
    nodes = []
    for name in names:  # one after another: the first one migrates and makes demo users
        node = AppProcess(
            data_dir=tmp_path,  # shared: the demo JWT secret lives there
            port=free_port(),
            extra_env={
                "DATABASE_URL": f"{POSTGRES}?options=-csearch_path%3D{schema}",
                "BROKER_URL": BROKERS[kind],
                "BROKER_NAMESPACE": namespace,
                "NODE_ID": name,
                **env,
            },
        )
        node.log = tmp_path / f"{name}.log"
        node.start()
        nodes.append(node)
    return nodes


class Viewer:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def next(self, *kinds: str, wait: float = 10.0) -> dict[str, Any]:
        """The next frame of one of `kinds` (others are skipped)."""
        with trio.fail_after(wait):
            while True:
                frames = json.loads(await self.ws.get_message())
                for frame in frames if isinstance(frames, list) else [frames]:
                    if frame["type"] in kinds:
                        return frame  # type: ignore[no-any-return]

    async def chat(self, text: str) -> None:
        await self.ws.send_message(json.dumps({"type": "chat", "message": text}))


async def answers_become(viewer: Viewer, kind: str, prompt: str) -> None:
    """Until the viewer's line is answered with `kind` ("chat": echoed, "error": refused)."""
    with trio.fail_after(10):
        for attempt in itertools.count():
            text = f"{prompt} {attempt}"
            await viewer.chat(text)
            frame = await viewer.next("chat", "error")
            while frame["type"] == "chat" and frame["message"] != text:
                frame = await viewer.next("chat", "error")  # an older echo
            if frame["type"] == kind:
                return
            await trio.sleep(0.2)


def ws_url(node: AppProcess, user: str, **query: Any) -> str:
    params = "&".join(f"{k}={v}" for k, v in {"token": node.token(user), **query}.items())
    return f"ws://127.0.0.1:{node.port}/ws/{user}?{params}"


@pytest.mark.parametrize("kind", ["redis", "nats"])
async def test_viewers_on_two_nodes_see_one_order_and_no_duplicates(
    tmp_path: Path, kind: str, schema: str
) -> None:
    a, b = start_nodes(tmp_path, kind, schema, ("a", "b"))
    try:
        async with (
            open_chat_socket(ws_url(a, "demo_user")) as ws_a,
            open_chat_socket(ws_url(b, "chat_viewer")) as ws_b,
        ):
            ann, bob = Viewer(ws_a), Viewer(ws_b)
            await ann.next("history")
            await bob.next("history")
            for n in range(3):
                await ann.chat(f"a{n}")
                await bob.chat(f"b{n}")
            seen_a = [(f["seq"], f["message"]) for f in [await ann.next("chat") for _ in range(6)]]
            seen_b = [(f["seq"], f["message"]) for f in [await bob.next("chat") for _ in range(6)]]
            assert seen_a == seen_b
            assert [seq for seq, _ in seen_a] == sorted({seq for seq, _ in seen_a})
            with trio.move_on_after(1.0):
                extra = await bob.next("chat", wait=1.0)
                raise AssertionError(f"delivered twice: {extra}")
    finally:
        for node in (a, b):
            node.stop()


async def test_cluster_wide_mute_metrics_and_a_room_that_outlives_its_owner(
    tmp_path: Path, schema: str
) -> None:
    a, b = start_nodes(tmp_path, "redis", schema, ("a", "b"))
    try:
        admin = {"Authorization": f"Bearer {a.token('test_streamer')}"}
        async with (
            httpx.AsyncClient(base_url=a.url, headers=admin) as http,
            open_chat_socket(ws_url(a, "demo_user")) as ws_a,
        ):
            ann = Viewer(ws_a)
            await ann.next("history")  # a's room started first: a owns "main"
            async with open_chat_socket(ws_url(b, "chat_viewer")) as ws_b:
                bob = Viewer(ws_b)
                await bob.next("history")
                # /metrics counts both nodes' viewers once every node has beaten.
                with trio.fail_after(10):
                    while (metrics := (await http.get("/metrics")).json())["viewer_count"] < 2:  # noqa: ASYNC110 - another process's heartbeat
                        await trio.sleep(0.2)
                assert set(metrics["nodes"]) == {"a", "b"}
                assert metrics["nodes"]["b"]["viewer_count"] == 1
                # A mute made on node a refuses bob's next message on node b.
                muted = await http.post(
                    "/api/admin/mute",
                    json={"username": "chat_viewer", "seconds": 60, "reason": "test"},
                )
                assert muted.status_code == 200, muted.text
                with trio.fail_after(5):
                    while True:
                        await bob.chat("am I muted?")
                        error = await bob.next("error")
                        if error["code"] == "muted":
                            break
                        await trio.sleep(0.2)
                unmuted = await http.post(
                    "/api/admin/unmute", json={"username": "chat_viewer", "reason": "test"}
                )
                assert unmuted.status_code == 200, unmuted.text
                # The unmute reached b (bob's line is echoed) before the owner dies: a
                # kill right after the answer could beat the unmute's broadcast.
                await answers_become(bob, "chat", "unmuted?")
                # The owner dies; b takes "main" over and bob's next message goes through.
                a.stop(signal.SIGKILL)
                with trio.fail_after(20):
                    await bob.chat("after the owner died")
                    while (await bob.next("chat", wait=20))["message"] != "after the owner died":
                        pass  # an echo from before the mute took hold
    finally:
        for node in (a, b):
            node.stop()


async def test_a_mute_whose_broadcast_was_lost_still_holds_after_a_sanctions_sync(
    tmp_path: Path, schema: str
) -> None:
    """A moderator's node stores a mute and dies before announcing it (here: the mute
    is written straight to the database, with no announcement at all): every node still
    applies it, and its lifting, from the stored sanctions (`SANCTIONS_SYNC_SECS`)."""
    (b,) = start_nodes(tmp_path, "redis", schema, ("b",), SANCTIONS_SYNC_SECS="1")
    engine = sa.create_engine(f"{POSTGRES}?options=-csearch_path%3D{schema}")

    def set_muted(until: str) -> None:
        with engine.begin() as conn:
            conn.execute(
                sa.text(f"UPDATE users SET muted_until = {until} WHERE username = 'chat_viewer'")
            )

    try:
        async with open_chat_socket(ws_url(b, "chat_viewer")) as ws_b:
            bob = Viewer(ws_b)
            await bob.next("history")
            await bob.chat("before")
            assert (await bob.next("chat", "error"))["message"] == "before"
            set_muted("now() + interval '60 seconds'")
            await answers_become(bob, "error", "muted yet?")
            set_muted("NULL")
            await answers_become(bob, "chat", "unmuted yet?")
    finally:
        b.stop()
        engine.dispose()


async def test_two_worker_processes_share_one_port_and_the_rooms(
    tmp_path: Path, schema: str
) -> None:
    node = AppProcess(
        data_dir=tmp_path,
        port=free_port(),
        command=[*serve_command(), "--workers", "2"],
        extra_env={
            "DATABASE_URL": f"{POSTGRES}?options=-csearch_path%3D{schema}",
            "BROKER_URL": BROKERS["redis"],
            "BROKER_NAMESPACE": f"e2e{secrets.token_hex(4)}",
            "NODE_ID": "w",
        },
    )
    node.start()
    try:
        async with httpx.AsyncClient(base_url=node.url) as http:
            with trio.fail_after(15):
                while len((metrics := (await http.get("/metrics")).json())["nodes"]) < 2:  # noqa: ASYNC110 - the workers' heartbeats
                    await trio.sleep(0.2)
            assert set(metrics["nodes"]) == {"w-0", "w-1"}
        async with (
            open_chat_socket(ws_url(node, "demo_user")) as ws_a,
            open_chat_socket(ws_url(node, "chat_viewer")) as ws_b,
        ):
            ann, bob = Viewer(ws_a), Viewer(ws_b)
            await ann.next("history")
            await bob.next("history")
            await ann.chat("across workers")
            assert (await bob.next("chat"))["message"] == "across workers"
    finally:
        assert node.stop(signal.SIGTERM) == 0
