"""The soak's HTTP traffic: a moderator, gifts, a dashboard's polling, token refresh.

Each function is one Trio task that loops until `load/soak.py` cancels it; all share
the `Soak` of `load/soak_traffic.py` and count every answer in its `Tally` (a success, an
expected refusal such as 429, or an error).

Example:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(moderator, soak)
        nursery.start_soon(gifter, soak)
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import trio
from soak_traffic import HTTP_TIMEOUT_SECS, Soak, hold_policy

__all__ = ["dashboard", "gifter", "moderator", "refresh_tokens"]

TOKEN_REFRESH_SECS = 600.0  # tokens live JWT_EXPIRE_MINUTES (30 by default)


async def gifter(soak: Soak, interval: float = 4.0) -> None:
    """`POST /api/gift` from a random viewer to a random room."""
    while True:
        await trio.sleep(soak.rng.uniform(0.5 * interval, 1.5 * interval))
        user = soak.rng.choice(soak.viewers)
        body = {
            "gift_id": soak.rng.randint(1, 5),
            "amount": soak.rng.randint(1, 5),
            "room": soak.rng.choice(soak.rooms),
        }
        headers = soak.auth(user)
        response = await soak.request("gift", "POST", "/api/gift", json=body, headers=headers)
        if response is not None and soak.tally.check("gift", response):
            soak.tally.gifts += 1


async def moderator(soak: Soak, interval: float = 6.0) -> None:
    """Moderator actions through the admin API, one every `interval` seconds on average:
    mute, unmute, kick, delete, approve / reject held messages, policy change, reads."""
    steps = ("held", "mute", "delete", "held", "kick", "unmute", "policy", "held", "reads")
    approve = True
    for number in itertools.count():
        await trio.sleep(soak.rng.uniform(0.5 * interval, 1.5 * interval))
        step = steps[number % len(steps)]
        if step == "held":
            approve = await _decide_held(soak, approve)
        elif step == "mute":
            target = soak.rng.choice(soak.chatters)
            body = {"username": target, "duration_secs": 20, "reason": "soak"}
            if await _act(soak, "mute", "/api/admin/mute", body):
                soak.muted.add(target)
        elif step == "unmute" and soak.muted:
            target = soak.muted.pop()
            await _act(soak, "unmute", "/api/admin/unmute", {"username": target})
        elif step == "kick":
            body = {"username": soak.rng.choice(soak.chatters), "reason": "soak"}
            await _act(soak, "kick", "/api/admin/kick", body)
        elif step == "delete" and soak.recent_ids:
            message_id, _ = soak.recent_ids.popitem(last=True)
            path = f"/api/admin/messages/{message_id}/delete"
            await _act(soak, "delete", path, {"reason": "soak"})
        elif step == "policy":
            policy = hold_policy(0.5 if number % 2 else 0.55)
            response = await soak.request(
                "policy",
                "PUT",
                f"/api/admin/rooms/{soak.rooms[-1]}/policy",
                json=policy,
                headers=soak.auth(soak.moderator),
            )
            if response is not None and soak.tally.check("policy", response):
                soak.tally.mod_actions["policy"] += 1
        elif step == "reads":
            for path in ("/api/admin/audit?limit=50", "/api/admin/messages?limit=100"):
                response = await soak.request(
                    "admin read", "GET", path, headers=soak.auth(soak.moderator)
                )
                if response is not None:
                    soak.tally.check("admin read", response)


async def _act(soak: Soak, what: str, path: str, body: dict[str, Any]) -> bool:
    response = await soak.request(what, "POST", path, json=body, headers=soak.auth(soak.moderator))
    if response is not None and soak.tally.check(what, response):
        soak.tally.mod_actions[what] += 1
        return True
    return False


async def _decide_held(soak: Soak, approve: bool) -> bool:
    """Approve or reject (alternately) up to ten held messages; the next choice."""
    response = await soak.request(
        "held", "GET", "/api/admin/held?limit=10", headers=soak.auth(soak.moderator)
    )
    if response is None or not soak.tally.check("held", response):
        return approve
    for message in response.json().get("held", []):
        verb = "approve" if approve else "reject"
        await _act(soak, verb, f"/api/admin/held/{message['id']}/{verb}", {})
        approve = not approve
    return approve


async def dashboard(soak: Soak) -> None:
    """What an open dashboard asks: metrics every 2 s, rooms and top gifters every 10 s,
    and the moderators' event stream (Server-Sent Events) held open."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_events, soak)
        for tick in itertools.count():
            paths = ["/metrics"]
            if tick % 5 == 0:
                paths += ["/api/rooms", f"/api/gifts/top?room={soak.rng.choice(soak.rooms)}"]
            for path in paths:
                response = await soak.request("dashboard", "GET", path)
                if response is not None:
                    soak.tally.check("dashboard", response)
            await trio.sleep(2)


async def _events(soak: Soak) -> None:
    while True:
        try:
            async with soak.http.stream(
                "GET",
                "/api/admin/events",
                headers=soak.auth(soak.moderator),
                timeout=httpx.Timeout(HTTP_TIMEOUT_SECS, read=None),
            ) as response:
                if not soak.tally.check("events", response):
                    await trio.sleep(5)
                    continue
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        soak.tally.sse_events += 1
        except httpx.HTTPError as exc:
            soak.tally.errors[f"events {type(exc).__name__}"] += 1
        soak.tally.reconnects += 1
        await trio.sleep(1)


async def refresh_tokens(soak: Soak) -> None:
    """Log every account in again before its token expires."""
    while True:
        await trio.sleep(TOKEN_REFRESH_SECS)
        for user, password in list(soak.passwords.items()):
            await soak.login(user, password)
