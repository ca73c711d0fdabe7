"""The supervision tree's admin-only crash control against a fake app (MockTransport).

No browser: the Panel widgets are driven directly, the button callbacks awaited.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from dashboard.client import ApiClient
from dashboard.tree_view import TreeView

# Bokeh's ColumnDataSource.from_df (under every Tabulator) still passes inplace= to pandas.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.reset_index")


def actor(name: str, path: str, *children: dict[str, Any], **fields: Any) -> dict[str, Any]:
    mailbox = {"depth": 0, "capacity": 64}
    base = {"name": name, "path": path, "kind": "actor", "status": "running", "restarts": 0}
    return {**base, "mailbox": mailbox, "children": list(children), **fields}


def snapshot(**gifts: Any) -> dict[str, Any]:
    return actor(
        "safestream",
        "/safestream",
        actor("rooms", "/safestream/rooms", actor("room:main", "/safestream/rooms/room:main")),
        actor("gifts", "/safestream/gifts", **gifts),
    )


class FakeApp:
    """`POST /api/admin/actors/crash` as the app answers it, with fault injection on or off."""

    def __init__(self, *, fault_injection: bool = True) -> None:
        self.fault_injection = fault_injection
        self.crashed: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/admin/actors/crash"
        assert request.headers["Authorization"] == "Bearer tok"
        if not self.fault_injection:
            detail = "fault injection is off (FAULT_INJECTION=1)"
            return httpx.Response(404, json={"detail": detail, "error": "not_found"})
        path = json.loads(request.content)["path"]
        self.crashed.append(path)
        return httpx.Response(200, json={"status": "crash sent", "path": path})

    def api(self) -> ApiClient:
        return ApiClient("http://app", "tok", transport=httpx.MockTransport(self.handler))


def view(app: FakeApp) -> tuple[TreeView, list[tuple[bool, str]]]:
    said: list[tuple[bool, str]] = []
    tree = TreeView(app.api, lambda ok, text: said.append((ok, text)))
    tree.update(snapshot())
    return tree, said


def test_the_crash_control_is_for_admins_only() -> None:
    tree, _ = view(FakeApp())
    assert not tree.crash_controls.visible
    tree.set_admin(True)
    assert tree.crash_controls.visible
    tree.set_admin(False)
    assert not tree.crash_controls.visible
    assert TreeView().crash_controls.visible is False  # no API: never shown
    bare = TreeView()
    bare.set_admin(True)
    assert not bare.crash_controls.visible


def test_the_actor_choices_follow_the_tree_and_keep_the_selection() -> None:
    tree, _ = view(FakeApp())
    assert tree.actor.options == [
        "/safestream/rooms",
        "/safestream/rooms/room:main",
        "/safestream/gifts",
    ]  # not the root: nothing would restart it
    assert not tree.crash_button.disabled
    tree.actor.value = "/safestream/gifts"
    grown = snapshot()
    grown["children"][0]["children"].append(actor("room:b", "/safestream/rooms/room:b"))
    tree.update(grown)
    assert "/safestream/rooms/room:b" in tree.actor.options
    assert tree.actor.value == "/safestream/gifts"


async def test_crash_asks_for_confirmation_then_calls_the_app_and_logs_the_restart() -> None:
    app = FakeApp()
    tree, said = view(app)
    tree.set_admin(True)
    tree.actor.value = "/safestream/gifts"
    tree._ask()
    assert tree.confirm_row.visible and app.crashed == []
    assert "/safestream/gifts" in tree.confirm_text.object
    tree._cancel()
    assert not tree.confirm_row.visible
    await tree._confirm()  # nothing pending after a cancel
    assert app.crashed == []

    tree._ask()
    await tree._confirm()
    assert app.crashed == ["/safestream/gifts"]
    assert not tree.confirm_row.visible
    assert said[-1][0] is True and "crash sent to /safestream/gifts" in said[-1][1]
    assert "/safestream/gifts: crash requested" in tree.log.value

    error = {"type": "InjectedCrash", "message": "crash requested by admin", "at": 1.0}
    tree.update(snapshot(restarts=1, last_error=error))
    assert "/safestream/gifts: restarted (restarts 1)" in tree.log.value
    assert "/safestream/gifts: error InjectedCrash: crash requested by admin" in tree.log.value
    row = tree.table.value.set_index("path").loc["/safestream/gifts"]
    assert row["restarts"] == 1 and row["last_error"].startswith("InjectedCrash")


async def test_a_refused_crash_shows_the_apps_detail() -> None:
    app = FakeApp(fault_injection=False)
    tree, said = view(app)
    tree.set_admin(True)
    tree.actor.value = "/safestream/gifts"
    tree._ask()
    await tree._confirm()
    text = "crash /safestream/gifts refused (404): fault injection is off (FAULT_INJECTION=1)"
    assert said[-1] == (False, text)
    assert tree.outcome.visible and tree.outcome.object == text
    assert "crash requested" not in tree.log.value
    assert not tree.crash_button.disabled  # can try again
