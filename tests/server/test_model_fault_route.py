"""`POST /api/admin/faults/model` on a real node: gated as the actor crash (admin role,
demo mode or FAULT_INJECTION=1), audited, and the model really fails for that long."""

from __future__ import annotations

from typing import Any

import pytest
from serverkit import Server, viewer

from safestream.store import repo
from safestream.store.database import Database

ROUTE = "/api/admin/faults/model"


async def test_an_admin_makes_the_model_fail_and_a_fail_closed_room_holds(server: Server) -> None:
    admin = await server.auth_headers("test_streamer")
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        response = await server.http.post(ROUTE, json={"seconds": 60}, headers=admin)
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "model failing", "seconds": 60.0}
        await ann.chat("nobody can score this")
        held = await ann.next("held")
        assert (held["message"], held["reason"]) == ("nobody can score this", "unscored (closed)")

        response = await server.http.post(ROUTE, json={"seconds": 0}, headers=admin)
        assert response.json() == {"status": "model restored", "seconds": 0.0}
        await ann.chat("scored again")
        chat = await ann.next("chat")
        assert (chat["message"], chat["action"]) == ("scored again", "allow")

    audit = await server.http.get(
        "/api/admin/audit", params={"actor": "test_streamer"}, headers=admin
    )
    faults = [a for a in audit.json()["actions"] if a["action"] == "fault_model"]
    assert [a["duration_secs"] for a in faults] == [0.0, 60.0]  # newest first


@pytest.mark.parametrize("body", [{}, {"seconds": -1}, {"seconds": "5"}, {"seconds": True},
                                  {"seconds": 601}, {"seconds": None}])  # fmt: skip
async def test_seconds_must_be_a_number_from_0_to_600(server: Server, body: dict[str, Any]) -> None:
    admin = await server.auth_headers("test_streamer")
    response = await server.http.post(ROUTE, json=body, headers=admin)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


async def test_only_an_admin_may_make_the_model_fail(server: Server) -> None:
    response = await server.http.post(
        ROUTE, json={"seconds": 5}, headers=await server.auth_headers("demo_user")
    )
    assert response.status_code == 403
    assert (await server.http.post(ROUTE, json={"seconds": 5})).status_code == 401


@pytest.mark.parametrize(
    ("settings_overrides", "status"),
    [({"mode": "production"}, 404), ({"mode": "production", "fault_injection": True}, 200)],
)
async def test_model_faults_are_off_in_production_unless_fault_injection_is_on(
    server: Server, settings_overrides: dict[str, Any], status: int
) -> None:
    await server.register("boss")
    Database(server.settings.database_url, threads=1).run_sync(repo.set_role, "boss", "admin")
    response = await server.http.post(
        ROUTE, json={"seconds": 5}, headers=await server.auth_headers("boss")
    )
    assert response.status_code == status, response.text
