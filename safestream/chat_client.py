"""A terminal chat client: `python -m safestream.chat_client USER TOKEN [--room R]`.

Prints every event of the room as a line and sends each line typed as a chat message;
the token goes in the first frame, not the URL. It asks for batched delivery (`batch=1`:
one frame per tick carrying a JSON array of events) and handles both shapes.

Example:
    python -m safestream.chat_client ann "$TOKEN" --url ws://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

__all__ = ["events_of", "format_frame", "main", "open_chat_socket"]

UNREAD_FRAMES = 4096


@asynccontextmanager
async def open_chat_socket(
    url: str, *, unread_frames: int = UNREAD_FRAMES, **options: Any
) -> AsyncIterator[WebSocketConnection]:
    """`open_websocket_url` that always closes its TCP stream.

    trio-websocket's client waits for the server's TCP close after a server-initiated
    close handshake; a caller that leaves first would leave the socket open. And with a
    full queue of unread frames its reader blocks, so a close handshake never ends: the
    queue here is large (`unread_frames`).
    """
    async with open_websocket_url(url, message_queue_size=unread_frames, **options) as ws:
        try:
            yield ws
        finally:
            stream = getattr(ws, "_stream", None)
            if stream is not None:
                with trio.CancelScope(shield=True):
                    await stream.aclose()


def format_frame(frame: dict[str, Any]) -> str:
    """One readable line per server frame."""
    kind = frame.get("type")
    if kind == "chat":
        flag = f" [toxic {frame['score']:.2f}]" if frame.get("toxic") else ""
        return f"#{frame.get('seq')} {frame['user']}: {frame['message']}{flag}"
    if kind == "history":
        lines = [format_frame(message) for message in frame.get("messages", [])]
        return "\n".join([f"-- history of {frame['room']} --", *lines])
    if kind == "gift":
        return f"* {frame['from']} sent gift {frame['gift_id']} x{frame['amount']}"
    if kind == "presence":
        return f"-- {frame['viewers']} watching {frame['room']}"
    if kind == "error":
        return f"!! {frame['code']}: {frame['detail']}"
    return json.dumps(frame)


def events_of(message: str | bytes) -> list[dict[str, Any]]:
    """The events of one server frame: a batched frame's array, or the one event."""
    data = json.loads(message)
    return data if isinstance(data, list) else [data]


async def _print_frames(ws: WebSocketConnection) -> None:
    while True:
        for event in events_of(await ws.get_message()):
            print(format_frame(event), flush=True)


async def _send_lines(ws: WebSocketConnection) -> None:
    stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
    buffer = b""
    async with stdin:
        while chunk := await stdin.receive_some():
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                text = line.decode("utf-8", "replace").strip()
                if text:
                    await ws.send_message(json.dumps({"type": "chat", "message": text}))


async def chat(url: str, user: str, token: str, room: str) -> None:
    async with open_chat_socket(f"{url}/ws/{user}?room={room}&batch=1") as ws:
        await ws.send_message(json.dumps({"type": "auth", "token": token}))
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_print_frames, ws)
                await _send_lines(ws)
                nursery.cancel_scope.cancel()
        except* ConnectionClosed:
            print(f"-- closed: {ws.closed}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description="SafeStream terminal chat client")
    parser.add_argument("user")
    parser.add_argument("token")
    parser.add_argument("--room", default="main")
    parser.add_argument("--url", default="ws://127.0.0.1:8000")
    args = parser.parse_args()
    trio.run(chat, args.url.rstrip("/"), args.user, args.token, args.room)


if __name__ == "__main__":
    main()
