"""The soak's shared state and its socket traffic: chatters and viewers who come and go.

Each chatter or viewer is one Trio task that loops until `load/soak.py` cancels it at
the end of the run; they and the HTTP tasks of `load/soak_admin.py` share one `Soak`
(settings, tokens, the `Tally` of counters). Sockets come from
`safestream.chat_client.open_chat_socket`, HTTP from one `httpx.AsyncClient`. Every
outcome is counted as traffic, as an expected refusal (`muted`, a kick's 4000, a 429) or
as an error (anything else: 5xx, a close other than 4000, a chat line never answered on a
socket that stayed open, a timeout).

A chat line carries a nonce (`... #soak_c0-12-345678`); the author's echo (`chat`,
`held` or `blocked`) answers it, or a refusal (an error frame, which does not say which
line it refuses: refusals are counted and matched to the oldest unanswered lines only
when those are overdue or the socket closes). Lines pending when a socket closes
are looked for in the `history` of the next join (`?since=`); those not found are counted
as `unconfirmed_after_close` (a held line, or one the server never stored), not as
errors.

Example:
    soak = Soak(base_url="http://127.0.0.1:8000", http=client, rng=random.Random(1))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(chatter, soak, "soak_c0", "main")
"""

from __future__ import annotations

import json
import random
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any

import httpx
import trio
from trio_websocket import ConnectionClosed, HandshakeError

from safestream.chat_client import open_chat_socket

__all__ = [
    "PASSWORD",
    "Member",
    "Soak",
    "Tally",
    "chatter",
    "hold_policy",
    "primer",
    "viewer",
]

PASSWORD = "soak-password-1"
HTTP_TIMEOUT_SECS = 30.0
JOIN_TIMEOUT_SECS = 30.0
ACK_TIMEOUT_SECS = 60.0
PRIME_RATE = 4.0  # lines per second per priming socket
RECENT_IDS = 200
REFUSED_FRAMES = {"muted", "rate_limited", "duplicate", "slow_mode"}
KICKED = 4000
BENIGN = (
    "hi everyone",
    "great stream today",
    "lol that was close",
    "what game is this?",
    "gg",
    "hello from Lisbon",
    "this music is nice",
    "nice shot!",
)
TOXIC = ("you are an idiot", "what a stupid play", "shut up moron", "watch your back")


def hold_policy(min_score: float) -> dict[str, Any]:
    """The `soak-held` room's policy: toxic lines wait in the hold queue."""
    return {
        "thresholds": {"toxicity": 0.6},
        "bands": [{"category": "toxicity", "min_score": min_score, "action": "hold"}],
    }


@dataclass
class Tally:
    """Cumulative counters of one soak run (all tasks run on one Trio thread)."""

    chat_sent: int = 0
    chat_acked: int = 0
    frames_received: int = 0
    http_requests: int = 0
    ws_opens: int = 0
    reconnects: int = 0
    recovered: int = 0
    not_recovered: int = 0
    unconfirmed_after_close: int = 0
    viewer_joins: int = 0
    mod_actions: Counter[str] = field(default_factory=Counter)
    gifts: int = 0
    sse_events: int = 0
    sockets: int = 0
    frames: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def check(self, what: str, response: httpx.Response, refusals: tuple[int, ...] = ()) -> bool:
        """Count one HTTP answer; True when it is a success."""
        self.http_requests += 1
        if response.is_success:
            return True
        if response.status_code in refusals or response.status_code == 429:
            self.refused[f"{what} {response.status_code}"] += 1
        else:
            self.errors[f"{what} {response.status_code}"] += 1
        return False


@dataclass
class Soak:
    """What every traffic task shares."""

    base_url: str
    http: httpx.AsyncClient
    rng: random.Random
    rooms: tuple[str, ...] = ("main", "soak-b", "soak-held")
    chat_interval: float = 4.0
    tally: Tally = field(default_factory=Tally)
    tokens: dict[str, str] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    chatters: tuple[str, ...] = ()
    viewers: tuple[str, ...] = ()
    moderator: str = "test_streamer"
    recent_ids: OrderedDict[str, None] = field(default_factory=OrderedDict)
    muted: set[str] = field(default_factory=set)

    @property
    def ws_base(self) -> str:
        return self.base_url.replace("http://", "ws://", 1)

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    async def request(
        self, what: str, method: str, path: str, **kwargs: Any
    ) -> httpx.Response | None:
        """One HTTP call; transport failures and timeouts count as errors (None)."""
        try:
            return await self.http.request(method, path, timeout=HTTP_TIMEOUT_SECS, **kwargs)
        except httpx.HTTPError as exc:
            self.tally.http_requests += 1
            self.tally.errors[f"{what} {type(exc).__name__}"] += 1
            return None

    async def login(self, user: str, password: str) -> None:
        response = await self.request(
            "login", "POST", "/auth/login", data={"username": user, "password": password}
        )
        if response is not None and self.tally.check("login", response):
            self.tokens[user] = str(response.json()["access_token"])

    def remember(self, message_id: str) -> None:
        self.recent_ids[message_id] = None
        while len(self.recent_ids) > RECENT_IDS:
            self.recent_ids.popitem(last=False)


@dataclass
class Member:
    """One user's view of its room over its sockets: position, unacknowledged lines."""

    soak: Soak
    user: str
    room: str
    last_seq: int = 0
    sent: int = 0
    refusals: int = 0  # refusals not yet matched to a line (they do not name it)
    pending: OrderedDict[str, float] = field(default_factory=OrderedDict)
    in_doubt: set[str] = field(default_factory=set)
    joined: trio.Event = field(default_factory=trio.Event)
    answered: trio.Event = field(default_factory=trio.Event)

    def url(self, since: bool) -> str:
        query = f"room={self.room}" + (f"&since={self.last_seq}" if since and self.last_seq else "")
        return f"{self.soak.ws_base}/ws/{self.user}?{query}"

    def observe(self, frame: dict[str, Any], resumed: bool) -> None:
        tally = self.soak.tally
        kind = str(frame.get("type"))
        tally.frames[kind] += 1
        if kind == "history":
            for message in frame.get("messages", []):
                self._chat(message, from_history=True)
            if resumed:
                tally.recovered += bool(frame.get("recovered"))
                tally.not_recovered += not frame.get("recovered")
            tally.unconfirmed_after_close += len(self.in_doubt)
            self.in_doubt.clear()
            self.joined.set()
        elif kind == "chat":
            self._chat(frame, from_history=False)
        elif kind in ("held", "blocked") and frame.get("user") == self.user:
            self._ack(str(frame.get("message", "")))
        elif kind == "error":
            code = str(frame.get("code"))
            if code in REFUSED_FRAMES:
                tally.refused[f"chat {code}"] += 1
                # A refusal answers one line but does not say which (a line sent before
                # a mute may still be echoed after the refusal of a later one): count it.
                self.refusals += 1
                self._check_answered()
            else:
                tally.errors[f"error frame {code}"] += 1

    def _chat(self, message: dict[str, Any], from_history: bool) -> None:
        seq = message.get("seq")
        if isinstance(seq, int) and seq > self.last_seq:
            self.last_seq = seq
        if message.get("user") == self.user:
            text = str(message.get("message", ""))
            nonce = text.rsplit("#", 1)[-1]
            if nonce in self.in_doubt:
                self.in_doubt.discard(nonce)
                self.soak.tally.chat_acked += 1
            elif not from_history:
                self._ack(text)
        elif not from_history and message.get("id"):
            self.soak.remember(str(message["id"]))

    def _ack(self, text: str) -> None:
        if self.pending.pop(text.rsplit("#", 1)[-1], None) is not None:
            self.soak.tally.chat_acked += 1
            self._check_answered()

    def _check_answered(self) -> None:
        if len(self.pending) <= self.refusals:
            self.answered.set()

    async def all_answered(self) -> None:
        """Return once every line sent on this socket has been answered."""
        if len(self.pending) > self.refusals:
            self.answered = trio.Event()
            await self.answered.wait()

    def overdue(self) -> int:
        """Lines sent on this socket, older than ACK_TIMEOUT_SECS, and neither echoed nor
        accounted for by a refusal."""
        deadline = trio.current_time() - ACK_TIMEOUT_SECS
        late = [nonce for nonce, sent in self.pending.items() if sent < deadline]
        for nonce in late:
            del self.pending[nonce]
        excused = min(len(late), self.refusals)
        self.refusals -= excused
        return len(late) - excused

    def lost_socket(self) -> None:
        """The socket closed: lines still unanswered (beyond those refused) are looked
        for in the next join's history."""
        for _ in range(min(self.refusals, len(self.pending))):
            self.pending.popitem(last=False)
        self.in_doubt.update(self.pending)
        self.pending.clear()
        self.refusals = 0


@dataclass(frozen=True)
class Talk:
    """How a socket chats: a line every `interval` s (uniform 0.5x-1.5x unless `steady`),
    at most `lines` lines, then (with a limit) it waits for the answers and leaves."""

    interval: float
    lines: int | None = None
    steady: bool = False


async def _session(member: Member, resumed: bool, stay: float, talk: Talk | None) -> None:
    """One socket: join (with `since` when resuming), read, maybe chat, leave after `stay`."""
    soak, tally = member.soak, member.soak.tally
    member.joined = trio.Event()
    async with open_chat_socket(
        member.url(resumed), connect_timeout=15, disconnect_timeout=5
    ) as ws:
        tally.ws_opens += 1
        tally.sockets += 1
        try:
            await ws.send_message(json.dumps({"type": "auth", "token": soak.tokens[member.user]}))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_read, ws, member, resumed)
                with trio.fail_after(JOIN_TIMEOUT_SECS):
                    await member.joined.wait()
                with trio.move_on_after(stay):
                    if talk is not None:
                        await _chat(ws, member, talk)
                    else:
                        await trio.sleep_forever()
                nursery.cancel_scope.cancel()
        finally:
            tally.sockets -= 1
            member.lost_socket()


async def _chat(ws: Any, member: Member, talk: Talk) -> None:
    soak, tally = member.soak, member.soak.tally
    counter = 0
    while talk.lines is None or counter < talk.lines:
        spread = 0.0 if talk.steady else soak.rng.uniform(-0.5, 0.5)
        await trio.sleep(talk.interval * (1 + spread))
        if late := member.overdue():
            tally.errors["chat line never answered within 60 s"] += late
        counter += 1
        pool = TOXIC if soak.rng.random() < 0.15 else BENIGN
        nonce = f"{member.user}-{counter}-{soak.rng.randrange(10**6)}"
        member.pending[nonce] = trio.current_time()
        line = f"{soak.rng.choice(pool)} #{nonce}"
        await ws.send_message(json.dumps({"type": "chat", "message": line}))
        tally.chat_sent += 1
        member.sent += 1
    with trio.move_on_after(ACK_TIMEOUT_SECS):
        await member.all_answered()
    if (late := len(member.pending) - member.refusals) > 0:
        tally.errors["chat line never answered within 60 s"] += late


async def _read(ws: Any, member: Member, resumed: bool) -> None:
    while True:
        payload = await ws.get_message()
        member.soak.tally.frames_received += 1
        member.observe(json.loads(payload), resumed)


async def _run_session(
    member: Member, resumed: bool, stay: float, talk: Talk | None = None
) -> None:
    """`_session`, with every way a socket can end counted."""
    tally = member.soak.tally
    try:
        await _session(member, resumed, stay, talk)
    except* ConnectionClosed as group:
        # The reader and the sender may both see the one close: count it once.
        code = getattr(getattr(_first(group), "reason", None), "code", None)
        if code == KICKED:
            tally.refused["kicked (4000)"] += 1
        else:
            tally.errors[f"socket closed {code}"] += 1
    except* (HandshakeError, OSError) as group:
        tally.errors[f"socket {type(_first(group)).__name__}"] += 1
    except* trio.TooSlowError:
        tally.errors["no history frame within 30 s"] += 1


def _first(group: BaseExceptionGroup[Any]) -> BaseException:
    leaf: BaseException = group
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    return leaf


async def chatter(soak: Soak, user: str, room: str) -> None:
    """Chats in `room`; leaves after a few minutes (or is kicked) and comes back with
    `since`, so every return tests recovery."""
    member = Member(soak, user, room)
    resumed = False
    while True:
        await _run_session(member, resumed, soak.rng.uniform(60, 240), Talk(soak.chat_interval))
        await trio.sleep(soak.rng.uniform(0.5, 3))
        soak.tally.reconnects += 1
        resumed = True


async def primer(soak: Soak, user: str, room: str, lines: int) -> None:
    """Sends `lines` lines to `room` at PRIME_RATE a second (under the server's default
    per-connection limit of 5), waits for their answers and leaves: the warm-up that
    fills the rooms' replay buffers and takes the model past its first thousands of
    calls before the part of the run that is judged."""
    member = Member(soak, user, room)
    while member.sent < lines:  # a kick ends a session: go on where it stopped
        left = lines - member.sent
        talk = Talk(1 / PRIME_RATE, lines=left, steady=True)
        await _run_session(member, False, left / PRIME_RATE + 2 * ACK_TIMEOUT_SECS, talk)
        await trio.sleep(soak.rng.uniform(0.5, 3))


async def viewer(soak: Soak, user: str) -> None:
    """Watches a random room for a while, sometimes drops and resumes with `since`,
    leaves, and comes back later."""
    while True:
        member = Member(soak, user, soak.rng.choice(soak.rooms))
        soak.tally.viewer_joins += 1
        await _run_session(member, False, soak.rng.uniform(10, 60))
        if soak.rng.random() < 0.3:
            soak.tally.reconnects += 1
            await _run_session(member, True, soak.rng.uniform(5, 20))
        await trio.sleep(soak.rng.uniform(1, 5))
