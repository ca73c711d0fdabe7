"""Read-only API: health, metrics (original JSON + Prometheus), rooms, the actor tree.

Example:
    curl localhost:8000/metrics
    curl -H "Authorization: Bearer $TOKEN" localhost:8000/api/actors
    curl -N -H "Authorization: Bearer $TOKEN" localhost:8000/api/actors/stream
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST
from quart import Blueprint, Response

from safestream.accounts.auth import Role
from safestream.chat.frames import ChatMessage, chat_frame
from safestream.chat.room_supervisor import InvalidRoom, validate_room_name
from safestream.moderation.feed import metrics_json
from safestream.store import repo
from safestream.web.deps import ApiError, current_user, event_stream, int_arg

if TYPE_CHECKING:
    from actors import ActorSystem
    from safestream.services import Services

__all__ = ["api_blueprint"]

MIN_STREAM_INTERVAL = 0.1


def api_blueprint(services: Services) -> Blueprint:
    bp = Blueprint("api", __name__)

    @bp.get("/health")
    async def health() -> dict[str, Any]:
        system = services.system
        status = system.snapshot()["status"] if system else "starting"
        return {"status": "ok" if status == "running" else status}

    @bp.get("/metrics")
    async def metrics() -> dict[str, Any]:
        return metrics_json(services)

    @bp.get("/metrics/prometheus")
    async def prometheus() -> Response:
        gauges: dict[str, float] = {
            "viewers": services.limits.total,
            "rooms": len(services.rooms.running()),
        }
        if services.system is not None:
            _tree_gauges(services.system.snapshot(), gauges)
        return Response(services.metrics.exposition(gauges), content_type=CONTENT_TYPE_LATEST)

    @bp.get("/api/rooms")
    async def rooms() -> dict[str, Any]:
        return {
            "rooms": [
                {"name": name, "viewers": info.get("members", 0), "seq": info.get("seq", 0)}
                for name, info in _room_infos(services)
            ]
        }

    @bp.get("/api/rooms/<room>/history")
    async def history(room: str) -> dict[str, Any]:
        await current_user(services)
        try:
            validate_room_name(room)
        except InvalidRoom as exc:
            raise ApiError(422, "invalid_room", str(exc)) from exc
        limit = int_arg("limit", 50, 1, 500)
        after = int_arg("after_seq", 0, 0, 2**62)
        records = await services.db.run(repo.room_history, room, limit, after or None)
        return {"room": room, "messages": [chat_frame(ChatMessage.from_record(r)) for r in records]}

    @bp.get("/api/actors")
    async def actors() -> dict[str, Any]:
        await current_user(services, Role.MODERATOR)
        return _system(services).snapshot()

    @bp.get("/api/actors/stream")
    async def actors_stream() -> Response:
        await current_user(services, Role.MODERATOR)
        interval = max(MIN_STREAM_INTERVAL, float(int_arg("interval_ms", 500, 100, 60000)) / 1000)
        system = _system(services)

        async def events() -> AsyncIterator[bytes]:
            async for snapshot in system.watch(interval=interval):
                yield f"event: snapshot\ndata: {json.dumps(snapshot)}\n\n".encode()

        return event_stream(events())

    return bp


def _system(services: Services) -> ActorSystem:
    if services.system is None:
        raise ApiError(503, "starting", "the actor system is not running yet")
    return services.system


def _room_infos(services: Services) -> list[tuple[str, dict[str, Any]]]:
    if services.system is None:
        return []
    return [
        (node["info"]["room"], node["info"])
        for node in _walk(services.system.snapshot())
        if node["kind"] == "room" and "room" in node.get("info", {})
    ]


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = [node]
    for child in node.get("children", []):
        out.extend(_walk(child))
    return out


def _tree_gauges(snapshot: dict[str, Any], gauges: dict[str, float]) -> None:
    nodes = _walk(snapshot)
    gauges["actors"] = len(nodes)
    gauges["actor_restarts"] = sum(node.get("restarts", 0) for node in nodes)
    gauges["mailbox_depth_max"] = max((node["mailbox"]["depth"] for node in nodes), default=0)
    gauges["mailbox_dropped"] = sum(node["mailbox"]["dropped"] for node in nodes)
