"""The node's TCP listener: chat socket upgrades to our own WebSocket code, the rest to Hypercorn.

One port serves both, as the original's URL `ws://host/ws/<user>?token=...` requires. For
each accepted connection the listener reads the first request head (at most
`h11_max_incomplete_size` bytes, within `keep_alive_timeout`, Hypercorn's own cut for an
idle or slow connection). A `GET /ws/...` with `Upgrade: websocket` becomes a
`WsprotoTransport` and goes to the chat handler; every other connection goes, with the
bytes already read replayed first, to Hypercorn's own Trio connection handler
(`hypercorn.trio.tcp_server.TCPServer`), which serves HTTP (and every other WebSocket)
exactly as `hypercorn.trio.serve` would. HTTP is never parsed here beyond that first
head; the connection is handed over whole.

`serve` mirrors `hypercorn.trio.run.worker_serve` (lifespan, sockets bound from the
config with its `backlog`, graceful shutdown with `graceful_timeout`), for plain TCP
only: the node does not terminate TLS.

Example:
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(partial(serve, asgi_app, config, chat_handler,
                                           shutdown_trigger=stop.wait))
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from functools import partial
from random import randint

import trio
from hypercorn.config import Config
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.statsd import StatsdLogger
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import AppWrapper, ConnectionState, Framework, LifespanState
from hypercorn.utils import ShutdownError, raise_shutdown, repr_socket_addr, wrap_app

from safestream.chat.transport import TransportClosed
from safestream.web.wsproto_transport import HandshakeRefused, WsprotoTransport

__all__ = ["ChatHandler", "PrefixedStream", "is_chat_upgrade", "serve", "split_head"]

log = logging.getLogger(__name__)

ChatHandler = Callable[[WsprotoTransport], Awaitable[None]]
MAX_RECV = 65536
CHAT_PREFIX = b"/ws/"
INTERNAL_ERROR = 1011
_HEAD_END = re.compile(rb"\r?\n\r?\n")


def split_head(buffer: bytes) -> tuple[bytes, bytes] | None:
    """`(head, rest)` once `buffer` holds a whole request head (up to its blank line)."""
    end = _HEAD_END.search(buffer)
    if end is None:
        return None
    return buffer[: end.end()], buffer[end.end() :]


def is_chat_upgrade(head: bytes) -> bool:
    """True for `GET /ws/... HTTP/1.1` with an `Upgrade: websocket` header."""
    lines = head.split(b"\n")
    request_line = lines[0].rstrip(b"\r").split(b" ")
    if len(request_line) != 3 or request_line[0] != b"GET":
        return False
    if not request_line[1].startswith(CHAT_PREFIX):
        return False
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == b"upgrade" and b"websocket" in value.lower():
            return True
    return False


class PrefixedStream(trio.abc.HalfCloseableStream):
    """A socket stream whose first reads return `prefix` (bytes already read from it).

    Hypercorn's `TCPServer` reads `stream.socket` for the addresses and treats a stream
    without `do_handshake` as plain TCP, as it does a `trio.SocketStream`.
    """

    def __init__(self, stream: trio.SocketStream, prefix: bytes) -> None:
        self._stream = stream
        self._prefix = prefix
        self.socket = stream.socket

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if not self._prefix:
            return await self._stream.receive_some(max_bytes)
        await trio.lowlevel.checkpoint()
        size = len(self._prefix) if max_bytes is None else max_bytes
        data, self._prefix = self._prefix[:size], self._prefix[size:]
        return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        await self._stream.aclose()


class _Router:
    """Per connection: read the first head, then chat socket or Hypercorn."""

    def __init__(
        self,
        app: AppWrapper,
        config: Config,
        context: WorkerContext,
        state: LifespanState,
        chat: ChatHandler | None,
        send_buffer: int | None = None,
    ) -> None:
        self._send_buffer = send_buffer
        self._app = app
        self._config = config
        self._context = context
        self._state = state
        self._chat = chat

    async def __call__(self, stream: trio.SocketStream) -> None:
        config = self._config
        buffer = b""
        split = None
        try:
            with trio.move_on_after(config.keep_alive_timeout):
                while split is None and len(buffer) <= config.h11_max_incomplete_size:
                    chunk = await stream.receive_some(MAX_RECV)
                    if not chunk:
                        break
                    buffer += chunk
                    split = split_head(buffer)
        except (trio.BrokenResourceError, OSError):
            split, buffer = None, b""
        if split is not None and self._chat is not None and is_chat_upgrade(split[0]):
            await self._serve_chat(self._chat, stream, *split)
        elif split is not None or len(buffer) > config.h11_max_incomplete_size:
            # Hypercorn answers an oversized head itself.
            state = ConnectionState(self._state.copy())
            await TCPServer(self._app, config, self._context, state, PrefixedStream(stream, buffer))  # type: ignore[arg-type]
        else:  # slow head (the keep-alive cut), or the client left
            await trio.aclose_forcefully(stream)

    async def _serve_chat(
        self, chat: ChatHandler, stream: trio.SocketStream, head: bytes, rest: bytes
    ) -> None:
        if self._send_buffer is not None:
            # A fixed send buffer (no autotuning to megabytes): a viewer that stops
            # reading shows as stalled after this much, and holds no more kernel memory.
            with contextlib.suppress(OSError):
                stream.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._send_buffer)
        try:
            transport = WsprotoTransport.from_head(
                stream, head, rest, max_message_size=self._config.websocket_max_message_size
            )
        except HandshakeRefused as refused:
            with trio.move_on_after(self._config.keep_alive_timeout):
                try:
                    await stream.send_all(refused.response)
                except (trio.BrokenResourceError, OSError):
                    pass
            await trio.aclose_forcefully(stream)
            return
        async with transport:
            try:
                await chat(transport)
            except TransportClosed:
                pass  # the client left during the handshake
            except Exception:
                # As Hypercorn does for an ASGI app: log, close this socket, serve on.
                log.exception("chat socket failed")
                await transport.close(INTERNAL_ERROR, "internal error")


async def serve(
    app: Framework,
    config: Config,
    chat: ChatHandler | None,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]],
    chat_send_buffer: int | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `app` with Hypercorn and `/ws/...` upgrades with `chat` (None: those too go
    to Hypercorn, i.e. to the app's ASGI WebSocket), until the trigger. Chat sockets get
    a `chat_send_buffer`-byte kernel send buffer when it is given.

    Shutdown: when `shutdown_trigger` returns, the listeners close, Hypercorn's open
    connections are told to finish, and every connection task gets `graceful_timeout`
    seconds before it is cancelled; then the app's lifespan shuts down. Close chat
    sockets in the trigger, before it returns, to close them before HTTP stops.
    """
    if config.ssl_enabled:
        raise ValueError("the chat listener serves plain TCP only (terminate TLS in front)")
    config.set_statsd_logger_class(StatsdLogger)
    wrapped = wrap_app(app, config.wsgi_max_body_size, None)
    lifespan_state: LifespanState = {}
    lifespan = Lifespan(wrapped, config, lifespan_state)
    max_requests = None
    if config.max_requests is not None:
        max_requests = config.max_requests + randint(0, config.max_requests_jitter)
    context = WorkerContext(max_requests)
    async with trio.open_nursery() as lifespan_nursery:
        await lifespan_nursery.start(lifespan.handle_lifespan)
        await lifespan.wait_for_startup()
        async with trio.open_nursery() as server_nursery:
            listeners, binds = [], []
            for sock in config.create_sockets().insecure_sockets:
                sock.listen(config.backlog)
                listeners.append(trio.SocketListener(trio.socket.from_stdlib_socket(sock)))
                binds.append(f"http://{repr_socket_addr(sock.family, sock.getsockname())}")
                await config.log.info(f"Running on {binds[-1]} (CTRL + C to quit)")
            router = _Router(wrapped, config, context, lifespan_state, chat, chat_send_buffer)
            task_status.started(binds)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(raise_shutdown, shutdown_trigger)
                    nursery.start_soon(raise_shutdown, context.terminate.wait)
                    nursery.start_soon(
                        partial(
                            trio.serve_listeners, router, listeners, handler_nursery=server_nursery
                        )
                    )
            except* (ShutdownError, KeyboardInterrupt):
                pass
            finally:
                for listener in listeners:
                    await listener.aclose()
                await context.terminated.set()
                server_nursery.cancel_scope.deadline = trio.current_time() + config.graceful_timeout
        await lifespan.wait_for_shutdown()
        lifespan_nursery.cancel_scope.cancel()
