"""The senders of the fan-out benchmark: accounts, a schedule, echoes and refusals.

Each sender is its own account (registered through `POST /auth/register` with a name
of this run, or one existing account given with `--sender-user`) on its own socket,
batched (`?batch=1`) when the viewers are, so its echo latency compares with theirs.
The rate is spread evenly: sender `k` of `S` sends the messages numbered `k, k+S,
k+2S, ...` at `start + n / rate`, so every marker is unique and names its sender. Just
before sending message `n` it writes `time.monotonic()` into the shared marks
(`fanout_viewers.SharedMarks`).

A sender reads its socket for the answers to its own messages: the echo (its `chat`
frame: accepted, acknowledged after storage), a `held` or `blocked` frame, or an error
frame (`room_busy`, `rate_limited`, `not_saved`, ...). An error frame does not say
which message it answers, so refusals are matched to a sender's unanswered messages in
send order at the end (`refusal_latencies`): exact for refusals the socket's reader
gives at once (`rate_limited`, `room_busy`), approximate when a room's later refusal
(`not_saved`) overtakes an earlier message's echo.

Example:
    accounts = await sender_accounts(base_url, 2, tag)
    sender = Sender(0, 2, tag, marks, rate=20.0, echo_at=echo_at)
    await sender.connect("127.0.0.1", 8000, "/ws/<user>?room=r&batch=1&token=...")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sender.read)
        await sender.send_all(start=time.monotonic())
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections import Counter

import httpx
import trio
from fanout_viewers import SharedMarks
from wsclient import Closed, RawWebSocket
from wsload import ERROR_CODE, chat_payload, message_text

__all__ = ["Sender", "login", "sender_accounts"]


async def login(base_url: str, username: str, password: str) -> str:
    """A bearer token for an existing account.

    Raises:
        httpx.HTTPStatusError: refused (wrong password, throttled...).
    """
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(
            "/auth/login", data={"username": username, "password": password}, timeout=30
        )
        response.raise_for_status()
        return str(response.json()["access_token"])


async def sender_accounts(
    base_url: str, senders: int, tag: str, user: str | None = None, password: str | None = None
) -> list[tuple[str, str]]:
    """`(username, token)` per sender: new accounts `fo<tag>s<k>`, or `user` for all.

    Raises:
        httpx.HTTPStatusError: a registration or login was refused.
    """
    if user is not None:
        token = await login(base_url, user, password or user)
        return [(user, token)] * senders
    accounts = []
    secret = secrets.token_urlsafe(12)
    async with httpx.AsyncClient(base_url=base_url) as http:
        for index in range(senders):
            name = f"fo{tag}s{index}"
            body = {"username": name, "password": secret, "email": f"{name}@example.org"}
            response = await http.post("/auth/register", json=body, timeout=30)
            response.raise_for_status()
            accounts.append((name, str(response.json()["access_token"])))
    return accounts


class Sender:
    """Sender `index` of `senders`; `echo_at[n]` is set when message `n`'s echo arrives."""

    def __init__(
        self,
        index: int,
        senders: int,
        tag: str,
        marks: SharedMarks,
        *,
        rate: float,
        echo_at: list[float],
    ) -> None:
        self.index = index
        self.senders = senders
        self.tag = tag
        self.marks = marks
        self.rate = rate
        self.echo_at = echo_at
        self.ws: RawWebSocket | None = None
        self.sent: list[int] = []  # message numbers, in send order
        self.refusals: Counter[str] = Counter()
        self.refused_at: list[float] = []  # receipt times of refusals, in order
        self.close: str | None = None
        self.lag_max = 0.0
        self.answered = 0  # echoes + refusals
        self._own = re.compile(
            rb'"type":"(chat|held|blocked)","id":"\w*","user":"[^"]*","message":"fo'
            + tag.encode("ascii")
            + rb"-(\d+) "
        )

    async def connect(self, host: str, port: int, path: str) -> None:
        """Open the socket and read up to its `history` frame.

        Raises:
            Closed, HandshakeFailed, OSError: the socket could not be opened.
        """
        self.ws = await RawWebSocket.connect(host, port, path)
        while not any(b'"type":"history"' in payload for _, payload in await self.ws.receive()):
            pass

    async def read(self) -> None:
        """Note echoes and refusals until the socket closes (or the task is cancelled)."""
        assert self.ws is not None
        echo_at = self.echo_at
        try:
            while True:
                frames = await self.ws.receive()
                now = time.monotonic()
                for _opcode, payload in frames:
                    for match in self._own.finditer(payload):
                        number = int(match[2])
                        if number % self.senders != self.index or number >= len(echo_at):
                            continue
                        if match[1] == b"chat":
                            if math.isnan(echo_at[number]):
                                echo_at[number] = now
                                self.answered += 1
                        else:
                            self._refused(match[1].decode(), now)
                    for code in ERROR_CODE.findall(payload):
                        self._refused(code.decode(), now)
        except Closed as exc:
            self.close = str(exc.code)

    def _refused(self, code: str, now: float) -> None:
        self.refusals[code] += 1
        self.refused_at.append(now)
        self.answered += 1

    async def send_all(self, start: float) -> None:
        """Send this sender's share of the messages on schedule from `start`
        (`time.monotonic()`); stops early if the socket closes."""
        assert self.ws is not None
        marks = self.marks
        for number in range(self.index, marks.messages, self.senders):
            due = start + number / self.rate
            now = time.monotonic()
            if due > now:
                await trio.sleep(due - now)
            payload = chat_payload(message_text(self.tag, number))
            now = time.monotonic()
            self.lag_max = max(self.lag_max, now - due)
            marks.sent_at[number] = now
            try:
                await self.ws.send_text(payload)
            except OSError:
                self.close = self.close or "send failed"
                return
            self.sent.append(number)
            if self.close is not None:
                return

    def refusal_latencies(self) -> list[float]:
        """Seconds from sending to the refusal, matching refusals to this sender's
        unechoed messages in send order (see the module docstring)."""
        unechoed = [n for n in self.sent if math.isnan(self.echo_at[n])]
        sent_at = self.marks.sent_at
        return [t - sent_at[n] for n, t in zip(unechoed, self.refused_at, strict=False)]
