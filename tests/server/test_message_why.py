"""Every decision shows why: in the moderators' events, the REST messages and hold queue,
and `/why`; words the model cannot name are found by occlusion (on its own for held
messages, on demand for others)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from modelkit import Wordless
from serverkit import Server, make_settings, raw_get, running_server, viewer

HOLD_INSULTS = {"bands": [{"category": "insult", "min_score": 0.6, "action": "hold"}]}


@pytest.fixture
async def wordless(tmp_path: Path) -> AsyncIterator[Server]:
    async with running_server(make_settings(tmp_path), Wordless()) as running:
        yield running


def event_data(text: str, kind: str) -> dict[str, Any]:
    data = text.split(f"event: {kind}\ndata: ", 1)[1].split("\n", 1)[0]
    return dict(json.loads(data))


async def test_held_messages_show_why_in_events_rest_and_the_why_route(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    await server.http.put("/api/admin/rooms/main/policy", json=HOLD_INSULTS, headers=mod)
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        async with raw_get(server, "/api/admin/events", mod) as events:
            await events.read_until(": connected")
            await ann.chat("you idiot")
            held = event_data(await events.read_until("event: held"), "held")
    why = held["why"]
    assert why["text"] == "insult 0.85 ≥ hold 0.60, policy v2"
    assert why["rule"]["policy_version"] == 2 and why["rule"]["category"] == "insult"
    assert why["drivers"] == [{"word": "idiot", "weight": 1.0}] and why["drivers_by"] == "model"
    assert why["flagged"] == ["toxicity"] and why["scores"]["insult"] == 0.85

    queue = (await server.http.get("/api/admin/held", headers=mod)).json()["held"]
    assert queue[0]["why"]["text"] == why["text"]
    listed = (await server.http.get("/api/admin/messages", headers=mod)).json()["messages"]
    assert listed[0]["why"] == why
    answer = (await server.http.get(f"/api/admin/messages/{held['id']}/why", headers=mod)).json()
    assert (answer["action"], answer["status"], answer["why"]) == ("hold", "held", why)
    # The model named the word: explaining again changes nothing.
    again = await server.http.post(f"/api/admin/messages/{held['id']}/explain", headers=mod)
    assert again.json()["why"] == why


async def test_viewers_never_get_the_why(server: Server) -> None:
    async with viewer(server, "demo_user") as ann, viewer(server, "chat_viewer") as bob:
        await ann.next("history")
        await bob.next("history")
        await ann.chat("you idiot")
        frame = await bob.next("chat")
    assert "why" not in frame and "shadow" not in frame


async def test_held_messages_are_explained_by_occlusion_on_their_own(wordless: Server) -> None:
    server = wordless
    mod = await server.auth_headers("test_streamer")
    await server.http.put("/api/admin/rooms/main/policy", json=HOLD_INSULTS, headers=mod)
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        async with raw_get(server, "/api/admin/events", mod) as events:
            await events.read_until(": connected")
            await ann.chat("honestly you are an idiot")
            text = await events.read_until("event: why", wait=15)
    held, found = event_data(text, "held"), event_data(text, "why")
    assert held["why"]["drivers_by"] == "" and held["why"]["drivers"] == []
    assert found["id"] == held["id"]
    assert found["why"]["drivers_by"] == "occlusion"
    assert [d["word"] for d in found["why"]["drivers"]] == ["idiot"]
    stored = await server.http.get(f"/api/admin/messages/{held['id']}/why", headers=mod)
    assert stored.json()["why"] == found["why"]


async def test_any_message_is_explained_on_demand(wordless: Server) -> None:
    server = wordless
    mod = await server.auth_headers("test_streamer")
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        await ann.chat("what a stupid game")
        message = await ann.next("chat")
    before = await server.http.get(f"/api/admin/messages/{message['id']}/why", headers=mod)
    assert before.json()["why"]["drivers_by"] == ""
    explained = await server.http.post(f"/api/admin/messages/{message['id']}/explain", headers=mod)
    assert explained.status_code == 200, explained.text
    assert [d["word"] for d in explained.json()["why"]["drivers"]] == ["stupid"]
    after = await server.http.get(f"/api/admin/messages/{message['id']}/why", headers=mod)
    assert after.json()["why"]["drivers_by"] == "occlusion"


async def test_why_of_an_unknown_message_is_404_and_viewers_are_refused(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    for path in ("/api/admin/messages/" + "0" * 32 + "/why", "/api/admin/messages/x%00/why"):
        missing = await server.http.get(path, headers=mod)
        assert (missing.status_code, missing.json()["error"]) == (404, "message_not_found")
    explain = await server.http.post("/api/admin/messages/" + "0" * 32 + "/explain", headers=mod)
    assert explain.status_code == 404
    viewer_headers = await server.auth_headers("demo_user")
    refused = await server.http.get("/api/admin/messages/x/why", headers=viewer_headers)
    assert refused.status_code == 403
