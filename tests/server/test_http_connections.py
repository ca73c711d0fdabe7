"""What a real server does with idle, closing, slow and early-answered HTTP/1.1 connections.

Raw TCP sockets against a node on Trio's real clock, with small `KEEP_ALIVE_SECS` and
`BODY_TIMEOUT_SECS`; each test is bounded by `trio.fail_after`.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing
from serverkit import Server

SHORT = 0.5  # seconds: the timeout a test waits for
LONG = 30.0  # seconds: a timeout that must not be what ends the test
BOUND = 5.0  # seconds: no test waits longer than this for one step


class RawHttp:
    """An HTTP/1.1 client connection spoken byte by byte."""

    def __init__(self, stream: trio.SocketStream, host: str) -> None:
        self.stream = stream
        self.host = host
        self._buffer = b""

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    def request(self, method: str, path: str, *headers: str, body: bytes = b"") -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", *headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    async def response(self) -> tuple[int, dict[str, str], bytes]:
        """The next response: status, headers (lower-case names) and body."""
        while b"\r\n\r\n" not in self._buffer:
            await self._fill()
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self._buffer) < length:
            await self._fill()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return int(status_line.split()[1]), headers, body

    async def eof(self) -> None:
        """Wait for the server's orderly close (FIN, not a reset), with nothing before it."""
        assert await self.stream.receive_some(65536) == b""
        assert self._buffer == b""

    async def _fill(self) -> None:
        chunk = await self.stream.receive_some(65536)
        if not chunk:
            raise EOFError("the server closed the connection mid-response")
        self._buffer += chunk


async def connect(server: Server) -> RawHttp:
    host, port = server.url.removeprefix("http://").split(":")
    return RawHttp(await trio.open_tcp_stream(host, int(port)), f"{host}:{port}")


@pytest.mark.parametrize("settings_overrides", [{"keep_alive_secs": SHORT}])
async def test_idle_keep_alive_connection_is_closed_after_keep_alive_secs(
    server: Server,
) -> None:
    http = await connect(server)
    async with http.stream:
        await http.send(http.request("GET", "/health"))
        with trio.fail_after(BOUND):
            status, headers, _ = await http.response()
        assert status == 200
        assert headers.get("connection") != "close"
        start = trio.current_time()
        with trio.fail_after(BOUND):
            await http.eof()
        assert trio.current_time() - start >= SHORT * 0.9


@pytest.mark.parametrize("settings_overrides", [{"keep_alive_secs": SHORT}])
async def test_connection_sending_half_a_request_line_is_closed_after_keep_alive_secs(
    server: Server,
) -> None:
    http = await connect(server)
    async with http.stream:
        await http.send(b"GET /hea")
        with trio.fail_after(BOUND):
            await http.eof()


@pytest.mark.parametrize("settings_overrides", [{"keep_alive_secs": LONG}])
async def test_connection_close_request_gets_its_response_then_eof(server: Server) -> None:
    http = await connect(server)
    async with http.stream:
        await http.send(http.request("GET", "/health", "Connection: close"))
        with trio.fail_after(BOUND):
            status, headers, body = await http.response()
            await http.eof()
        assert status == 200 and body
        assert headers["connection"].lower() == "close"


@pytest.mark.parametrize(
    "settings_overrides", [{"keep_alive_secs": LONG, "body_timeout_secs": SHORT}]
)
@pytest.mark.parametrize(
    ("path", "status"),
    [("/auth/register", 408), ("/api/admin/kick", 401)],
    ids=["route-reading-the-body", "route-answering-without-it"],
)
async def test_post_whose_body_never_comes_is_answered_and_closed_after_body_timeout(
    server: Server, path: str, status: int
) -> None:
    http = await connect(server)
    async with http.stream:
        headers = ("Content-Type: application/json", "Content-Length: 100")
        await http.send(http.request("POST", path, *headers))
        with trio.fail_after(BOUND):
            answer, answer_headers, _ = await http.response()
            await http.eof()
        assert answer == status
        assert answer_headers["connection"] == "close"


@pytest.mark.parametrize("settings_overrides", [{"keep_alive_secs": LONG}])
async def test_early_answer_waits_for_the_body_so_the_next_request_is_answered(
    server: Server,
) -> None:
    # /api/admin/kick refuses a request without a token before reading its body; the body is
    # sent only once the server has nothing left to do but wait for it.
    http = await connect(server)
    async with http.stream:
        body = b'{"username": "demo_user"}'
        headers = ("Content-Type: application/json", f"Content-Length: {len(body)}")
        await http.send(http.request("POST", "/api/admin/kick", *headers))
        await trio.testing.wait_all_tasks_blocked(cushion=0.05)
        await http.send(body)
        await http.send(http.request("GET", "/health"))
        with trio.fail_after(BOUND):
            first, first_headers, _ = await http.response()
            second, _, second_body = await http.response()
        assert first == 401
        assert first_headers.get("connection") != "close"
        assert second == 200 and second_body


@pytest.mark.parametrize("settings_overrides", [{"keep_alive_secs": LONG}])
async def test_early_answer_to_a_body_over_the_limit_closes_the_connection(
    server: Server,
) -> None:
    http = await connect(server)
    async with http.stream:
        headers = ("Content-Type: application/json", f"Content-Length: {1024 * 1024}")
        await http.send(http.request("POST", "/api/admin/kick", *headers))
        with trio.fail_after(BOUND):
            status, answer_headers, _ = await http.response()
            await http.eof()
        assert status == 401
        assert answer_headers["connection"] == "close"
