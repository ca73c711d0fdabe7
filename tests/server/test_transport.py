"""The node's own listener on a real server: chat sockets beside Hypercorn's HTTP.

Default clients get exactly today's payloads (the ASGI fallback path, which is today's
path, is the reference); batched clients get arrays and lose nothing; the original
client's handshake works; HTTP keeps working on the same port; oversized frames close
1009; an orderly shutdown closes chat sockets with 1001.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import h11
import httpx
import pytest
import trio
from rawws import Closed, RawWebSocket, http_exchange, raw_websocket
from serverkit import Server, make_settings, running_server

from safestream.chat.protocol import SHUTDOWN_REASON, CloseCode, encode
from safestream.moderation.classifiers import KeywordClassifier
from safestream.node import serve


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"messages_per_second": 1000.0, "message_burst": 1000}


async def next_of(ws: RawWebSocket, kind: str) -> bytes:
    """The payload of the next one-event frame of `kind`."""
    while True:
        payload = await ws.next_payload()
        if json.loads(payload)["type"] == kind:
            return payload


async def test_default_frames_are_byte_identical_to_the_asgi_path(server: Server) -> None:
    token = await server.token("demo_user")
    target = f"/ws/demo_user?room=bytes&token={token}"
    async with (
        raw_websocket(server.url, target) as direct,
        raw_websocket(server.url, target, http_first=True) as fallback,
    ):
        assert direct.accepted is not None and fallback.accepted is not None
        await next_of(direct, "history")
        await next_of(fallback, "history")
        await direct.send_text(json.dumps({"type": "chat", "message": "zoë says hi ✓"}))
        mine = await next_of(direct, "chat")
        theirs = await next_of(fallback, "chat")
        assert mine == theirs
        assert mine == encode(json.loads(mine)).encode("utf-8")
        assert json.loads(mine)["message"] == "zoë says hi ✓"


async def test_batched_client_gets_arrays_and_loses_nothing(server: Server) -> None:
    token = await server.token("demo_user")
    target = f"/ws/demo_user?room=batch&token={token}"
    count = 30
    async with (
        raw_websocket(server.url, target + "&batch=1") as batched,
        raw_websocket(server.url, target) as plain,
    ):
        first = json.loads(await batched.next_payload())
        assert isinstance(first, list) and first[0]["type"] == "history"
        await next_of(plain, "history")
        for i in range(count):
            await plain.send_text(json.dumps({"type": "chat", "message": f"line {i}"}))
        plain_chats: list[bytes] = []
        while len(plain_chats) < count:
            plain_chats.append(await next_of(plain, "chat"))
        batched_chats: list[dict[str, Any]] = []
        sizes = []
        while len(batched_chats) < count:
            events = json.loads(await batched.next_payload())
            assert isinstance(events, list)
            sizes.append(len(events))
            batched_chats += [e for e in events if e["type"] == "chat"]
    assert [c["message"] for c in batched_chats] == [f"line {i}" for i in range(count)]
    assert [encode(c).encode() for c in batched_chats] == plain_chats
    assert max(sizes) > 1  # one tick carried several events


async def test_original_client_handshake_token_in_query_no_subprotocol(server: Server) -> None:
    token = await server.token("demo_user")
    async with raw_websocket(server.url, f"/ws/demo_user?token={token}") as ws:
        assert ws.accepted is not None and ws.accepted.subprotocol is None
        assert json.loads(await ws.next_payload())["type"] == "history"


async def test_subprotocol_token_is_answered_safestream_and_no_extension(server: Server) -> None:
    token = await server.token("demo_user")
    async with raw_websocket(
        server.url,
        "/ws/demo_user",
        subprotocols=["safestream", f"token.{token}"],
        extensions=["permessage-deflate; client_max_window_bits"],
    ) as ws:
        assert ws.accepted is not None
        assert ws.accepted.subprotocol == "safestream"
        assert ws.accepted.extensions == []
        assert json.loads(await ws.next_payload())["type"] == "history"


async def test_http_routes_on_the_same_port_with_body_and_keep_alive(server: Server) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    hostport = f"{host}:{port}"
    stream = await trio.open_tcp_stream(host, int(port))
    async with stream:
        get = h11.Request(method="GET", target="/health", headers=[("Host", hostport)])
        status, body = await http_exchange(stream, get)
        assert status == 200 and json.loads(body)["status"] == "ok"
        payload = json.dumps(
            {"username": "keepalive", "password": "correct horse", "email": "k@ex.org"}
        ).encode()
        post = h11.Request(
            method="POST",
            target="/auth/register",
            headers=[
                ("Host", hostport),
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
            ],
        )
        status, body = await http_exchange(stream, post, payload)
        assert status == 200, body
        assert json.loads(body)["username"] == "keepalive"
        status, body = await http_exchange(stream, get)  # same connection, third request
        assert status == 200


async def test_megabyte_frame_closes_1009(server: Server) -> None:
    token = await server.token("demo_user")
    async with raw_websocket(server.url, f"/ws/demo_user?token={token}") as ws:
        await next_of(ws, "history")
        await ws.send_text("x" * 1_000_000)
        with pytest.raises(Closed) as closed:
            while True:
                await ws.next_payload()
        assert closed.value.code == CloseCode.TOO_BIG


async def test_bad_batch_value_is_refused(server: Server) -> None:
    token = await server.token("demo_user")
    async with raw_websocket(server.url, f"/ws/demo_user?batch=yes&token={token}") as ws:
        with pytest.raises(Closed) as closed:
            await ws.next_payload()
        assert closed.value.code == CloseCode.POLICY_VIOLATION


async def test_fallback_path_still_serves_the_chat(server: Server) -> None:
    token = await server.token("demo_user")
    target = f"/ws/demo_user?room=fb&batch=1&token={token}"
    async with raw_websocket(server.url, target, http_first=True) as ws:
        history = json.loads(await ws.next_payload())
        assert history[0]["type"] == "history"
        await ws.send_text(json.dumps({"type": "chat", "message": "via hypercorn"}))
        while True:
            events = json.loads(await ws.next_payload())
            chats = [e for e in events if e["type"] == "chat"]
            if chats:
                assert chats[0]["message"] == "via hypercorn"
                break


@pytest.mark.parametrize(("chat_socket", "via_hypercorn"), [("own", False), ("asgi", True)])
async def test_chat_socket_setting_chooses_the_path_and_both_serve_the_chat(
    tmp_path: Path, chat_socket: str, via_hypercorn: bool
) -> None:
    settings = make_settings(tmp_path, chat_socket=chat_socket)
    async with running_server(settings) as server:
        token = await server.token("demo_user")
        async with raw_websocket(server.url, f"/ws/demo_user?room=cs&token={token}") as ws:
            assert ws.accepted is not None
            headers = {name.lower() for name, _ in ws.accepted.extra_headers}
            assert (b"server" in headers) is via_hypercorn  # Hypercorn names itself
            await next_of(ws, "history")
            await ws.send_text(json.dumps({"type": "chat", "message": f"via {chat_socket}"}))
            chat = json.loads(await next_of(ws, "chat"))
            assert chat["message"] == f"via {chat_socket}"


async def test_shutdown_closes_chat_sockets_with_1001(tmp_path: Path) -> None:
    shutdown = trio.Event()
    settings = make_settings(tmp_path)
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(
            partial(
                serve,
                settings,
                bind="127.0.0.1:0",
                classifier=KeywordClassifier(),
                shutdown=shutdown,
                handle_signals=False,
            )
        )
        async with httpx.AsyncClient(base_url=urls[0], timeout=10) as http:
            server = Server(url=urls[0], settings=settings, http=http)
            token = await server.token("demo_user")
        async with (
            raw_websocket(server.url, f"/ws/demo_user?token={token}") as one,
            raw_websocket(server.url, f"/ws/demo_user?token={token}", http_first=True) as two,
        ):
            await next_of(one, "history")
            await next_of(two, "history")
            shutdown.set()
            for ws in (one, two):
                with pytest.raises(Closed) as closed:
                    while True:
                        await ws.next_payload()
                assert (closed.value.code, closed.value.reason) == (1001, SHUTDOWN_REASON)
