"""A small typed HTTP client for the SafeStream app API, and a Server-Sent Events parser.

The dashboard talks to the app only through this module: a moderator's bearer token,
JSON in and out, errors raised as `ApiError` carrying the app's `{"detail","error"}` body.
It is async (httpx + anyio), so the same class runs on Panel's asyncio loop (button
callbacks) and inside the live feed's Trio thread. Pure transformations of the JSON into
tables live in `dashboard.frames`.

Example:
    async with ApiClient("http://127.0.0.1:8000") as api:
        login = await api.login("test_streamer", "test_streamer")
        tree = await api.actors()
        async for event in api.stream("/api/actors/stream?interval_ms=500"):
            print(event.event, event.json())
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import httpx

__all__ = ["ApiClient", "ApiError", "Login", "SseEvent", "SseParser", "parse_sse"]

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# Streams may be quiet for long; a dead app shows up in the metrics poll instead.
STREAM_TIMEOUT = httpx.Timeout(10.0, connect=5.0, read=None)

JSON = dict[str, Any]


class ApiError(Exception):
    """The app answered with an error status (or could not be reached: status 0)."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(f"{status} {error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        detail = str(body.get("detail") or response.reason_phrase or "request failed")
        return cls(response.status_code, str(body.get("error") or "http_error"), detail)


@dataclass(frozen=True)
class Login:
    """A successful `POST /auth/login`."""

    access_token: str
    role: str
    username: str

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin")


@dataclass(frozen=True)
class SseEvent:
    """One Server-Sent Event: its `event:` name (default "message") and joined `data:`."""

    event: str = "message"
    data: str = ""
    id: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SseParser:
    """Incremental `text/event-stream` parser: feed it lines, it returns complete events.

    Follows the WHATWG rules that matter here: a blank line dispatches, `data:` lines are
    joined with newlines, one leading space after the colon is dropped, lines starting
    with `:` are comments (keep-alives), an event with no data is not dispatched.
    """

    _event: str = ""
    _data: list[str] = field(default_factory=list)
    _id: str | None = None

    def feed(self, line: str) -> SseEvent | None:
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        return None

    def _dispatch(self) -> SseEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = SseEvent(self._event or "message", "\n".join(self._data), self._id)
        self._event, self._data = "", []
        return event


def parse_sse(lines: Iterable[str]) -> Iterator[SseEvent]:
    """Every complete event in `lines` (an event not ended by a blank line is dropped)."""
    parser = SseParser()
    for line in lines:
        event = parser.feed(line)
        if event is not None:
            yield event


class ApiClient:
    """The app's HTTP API with one moderator's token. Use as an async context manager.

    Every method raises `ApiError`: for an error status with the app's error code, or
    status 0 / error "unreachable" when the app cannot be reached.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._http = httpx.AsyncClient(
            base_url=self.base_url, transport=transport, timeout=DEFAULT_TIMEOUT
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        data: dict[str, str] | None = None,
    ) -> Any:
        """One request; the decoded JSON body on 2xx, else `ApiError`."""
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "", False)}
        try:
            response = await self._http.request(
                method, path, params=clean, json=json_body, data=data, headers=self._headers()
            )
        except httpx.HTTPError as exc:
            raise ApiError(0, "unreachable", f"{self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise ApiError.from_response(response)
        if not response.content:
            return {}
        return response.json()

    async def stream(
        self, path: str, on_open: Callable[[], Awaitable[None]] | None = None
    ) -> AsyncIterator[SseEvent]:
        """The events of one SSE endpoint, until the server ends the stream.

        `on_open` runs once the server has accepted the stream and before any event is
        handed out: the place to load a starting state without missing what happens
        meanwhile (those events follow it, and merge by id).
        """
        parser = SseParser()
        try:
            async with self._http.stream(
                "GET", path, headers=self._headers(), timeout=STREAM_TIMEOUT
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise ApiError.from_response(response)
                if on_open is not None:
                    await on_open()
                async for line in response.aiter_lines():
                    event = parser.feed(line)
                    if event is not None:
                        yield event
        except httpx.HTTPError as exc:
            raise ApiError(0, "unreachable", f"{self.base_url}: {exc}") from exc

    # auth -------------------------------------------------------------------------------

    async def login(self, username: str, password: str) -> Login:
        """Log in and keep the token for the following calls."""
        body = await self.request(
            "POST", "/auth/login", data={"username": username, "password": password}
        )
        login = Login(str(body["access_token"]), str(body["role"]), str(body["username"]))
        self.token = login.access_token
        return login

    async def me(self) -> JSON:
        return dict(await self.request("GET", "/auth/me"))

    # read-only --------------------------------------------------------------------------

    async def metrics(self) -> JSON:
        return dict(await self.request("GET", "/metrics"))

    async def actors(self) -> JSON:
        return dict(await self.request("GET", "/api/actors"))

    async def rooms(self) -> list[JSON]:
        return list((await self.request("GET", "/api/rooms")).get("rooms", []))

    async def top_gifts(self, limit: int = 10) -> list[JSON]:
        return list(
            (await self.request("GET", "/api/gifts/top", params={"limit": limit})).get("top", [])
        )

    async def history(self, room: str, limit: int = 200) -> list[JSON]:
        body = await self.request("GET", f"/api/rooms/{room}/history", params={"limit": limit})
        return list(body.get("messages", []))

    # moderation -------------------------------------------------------------------------

    async def messages(
        self,
        *,
        room: str | None = None,
        user: str | None = None,
        toxic_only: bool = False,
        action: str | None = None,
        limit: int = 200,
    ) -> list[JSON]:
        params = {
            "room": room,
            "user": user,
            "toxic_only": 1 if toxic_only else None,
            "action": action,
            "limit": limit,
        }
        body = await self.request("GET", "/api/admin/messages", params=params)
        return list(body.get("messages", []))

    async def held(self, room: str | None = None) -> list[JSON]:
        return list(
            (await self.request("GET", "/api/admin/held", params={"room": room})).get("held", [])
        )

    async def review(self, message_id: int | str, decision: str) -> JSON:
        """Approve or reject a held message (`decision` is "approve" or "reject")."""
        if decision not in ("approve", "reject"):
            raise ValueError(f"decision must be approve or reject, not {decision!r}")
        return dict(await self.request("POST", f"/api/admin/held/{message_id}/{decision}"))

    async def sanction(self, action: str, username: str, **fields: Any) -> JSON:
        """`kick`, `mute`, `unmute`, `ban` or `unban` a user; fields: reason, duration_secs."""
        if action not in ("kick", "mute", "unmute", "ban", "unban"):
            raise ValueError(f"unknown action {action!r}")
        body = {"username": username, **{k: v for k, v in fields.items() if v not in (None, "")}}
        return dict(await self.request("POST", f"/api/admin/{action}", json_body=body))

    async def delete_message(self, message_id: int | str, reason: str | None = None) -> JSON:
        body = {"reason": reason} if reason else {}
        return dict(
            await self.request("POST", f"/api/admin/messages/{message_id}/delete", json_body=body)
        )

    async def reset_metrics(self) -> JSON:
        return dict(await self.request("POST", "/api/admin/reset_metrics"))

    async def policy(self, room: str) -> JSON:
        return dict(await self.request("GET", f"/api/admin/rooms/{room}/policy"))

    async def put_policy(self, room: str, policy: JSON) -> JSON:
        return dict(await self.request("PUT", f"/api/admin/rooms/{room}/policy", json_body=policy))

    # what-if: replay, shadow, history, why ------------------------------------------------

    async def replay(self, room: str, body: JSON, *, limit: int = 200) -> JSON:
        """What a candidate policy (`{"policy": ...}` or `{"version": n}`) would have done
        on a window (`since_secs`, `since`/`until` or `last`) of the room's messages."""
        path = f"/api/admin/rooms/{room}/replay"
        return dict(await self.request("POST", path, params={"limit": limit}, json_body=body))

    async def shadow(self, room: str, limit: int = 50) -> JSON:
        path = f"/api/admin/rooms/{room}/shadow"
        return dict(await self.request("GET", path, params={"limit": limit}))

    async def attach_shadow(self, room: str, policy: JSON) -> JSON:
        body = {"policy": {k: v for k, v in policy.items() if k != "version"}}
        return dict(await self.request("POST", f"/api/admin/rooms/{room}/shadow", json_body=body))

    async def end_shadow(self, room: str, how: str) -> JSON:
        """`promote` the room's shadow policy (a new version) or `drop` it."""
        if how not in ("promote", "drop"):
            raise ValueError(f"a shadow is promoted or dropped, not {how!r}")
        return dict(await self.request("POST", f"/api/admin/rooms/{room}/shadow/{how}"))

    async def policy_versions(self, room: str) -> list[JSON]:
        body = await self.request("GET", f"/api/admin/rooms/{room}/policy/versions")
        return list(body.get("versions", []))

    async def rollback(self, room: str, version: int, reason: str = "") -> JSON:
        body = {"version": version, "reason": reason}
        path = f"/api/admin/rooms/{room}/policy/rollback"
        return dict(await self.request("POST", path, json_body=body))

    async def explain(self, message_id: str) -> JSON:
        """The message's why, with its driving words found by occlusion if needed."""
        return dict(await self.request("POST", f"/api/admin/messages/{message_id}/explain"))

    async def audit(
        self, *, limit: int = 200, actor: str | None = None, target: str | None = None
    ) -> list[JSON]:
        params = {"limit": limit, "actor": actor, "target": target}
        return list(
            (await self.request("GET", "/api/admin/audit", params=params)).get("actions", [])
        )

    # the moderation model ----------------------------------------------------------------

    async def model_status(self) -> JSON:
        """Live and previous model version and the last retrain (`GET /api/model/status`)."""
        return dict(await self.request("GET", "/api/model/status"))

    async def retrain_model(self) -> JSON:
        """Start a retrain (admins; it runs in the background): the status."""
        return dict(await self.request("POST", "/api/model/retrain"))

    async def rollback_model(self) -> JSON:
        """Make the previous model version live again (admins): the status."""
        return dict(await self.request("POST", "/api/model/rollback"))

    async def model_labels(self, limit: int = 100) -> JSON:
        """`{"labels": [...], "counts": {...}}`, newest first."""
        return dict(await self.request("GET", "/api/model/labels", params={"limit": limit}))

    async def mark(self, toxic: bool, *, message_id: str = "", text: str = "") -> JSON:
        """Label a stored message (by id) or a free text toxic / not toxic."""
        body: dict[str, Any] = {"toxic": toxic}
        if message_id:
            path = f"/api/model/messages/{message_id}/label"
        else:
            path, body["text"] = "/api/model/labels", text
        return dict(await self.request("POST", path, json_body=body))

    # fault injection --------------------------------------------------------------------

    async def crash_actor(self, path: str) -> JSON:
        """Crash the live actor at `path` (e.g. "/safestream/gifts") so its supervisor
        restarts it: `{"status": "crash sent", "path": ...}`.

        Admins only (403 otherwise), and only when the app allows fault injection (demo
        mode or FAULT_INJECTION=1; 404 otherwise); 404 too for a path with no live actor.
        """
        if not path.startswith("/"):
            raise ValueError(f"an actor path starts with '/', not {path[:60]!r}")
        return dict(await self.request("POST", "/api/admin/actors/crash", json_body={"path": path}))
