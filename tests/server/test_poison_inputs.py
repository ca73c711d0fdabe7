"""The worst chat inputs, sent in a loop at a real node: each gets an error frame, the
socket stays open, other viewers keep chatting, and the node stays up."""

from __future__ import annotations

from typing import Any

import pytest
from serverkit import Server, viewer

WORST = [
    ('{"type":"chat","message":"bad \\ud800 text"}', "bad_text"),
    ('{"type":"chat","message":"\\udfff"}', "bad_text"),
    ("[" * 50_000 + "]" * 50_000, "bad_json"),
    ('{"type":"auth","token":"\\ud800"}', "bad_frame"),
    ('{"type":"\\ud800"}', "unknown_type"),
    ('{"type":"chat","message":"\\u202e\\u200b\\u0007"}', "empty_message"),
]


@pytest.mark.parametrize(
    "settings_overrides",
    [{"max_frame_bytes": 200_000, "messages_per_second": 1000.0, "message_burst": 1000}],
)
async def test_poison_frames_in_a_loop_never_stop_the_node(
    server: Server, settings_overrides: dict[str, Any]
) -> None:
    async with viewer(server, "demo_user") as mallory, viewer(server, "chat_viewer") as ann:
        await mallory.next("history")
        await ann.next("history")
        for _round in range(5):
            for raw, code in WORST:
                await mallory.ws.send_message(raw)
                error = await mallory.next("error")
                assert error["code"] == code, raw[:40]
            await ann.chat(f"still here {_round}")
            assert (await ann.next("chat"))["message"] == f"still here {_round}"
        await mallory.chat("a forged\r\n[admin]: line \x1b[31mred")
        shown = await ann.next("chat")
        assert shown["message"] == "a forged [admin]: line red"
    health = await server.http.get("/health")
    assert health.json() == {"status": "ok"}
