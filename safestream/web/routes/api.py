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
from safestream.chat.room_supervisor import InvalidRoom, running_rooms, validate_room_name
from safestream.cluster.agent import cluster_document
from safestream.store import repo
from safestream.web.deps import ApiError, current_user, event_stream, int_arg

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["api_blueprint"]

MIN_STREAM_INTERVAL = 0.1


def api_blueprint(ctx: AppContext) -> Blueprint:
    bp = Blueprint("api", __name__)

    @bp.get("/health")
    async def health() -> dict[str, Any]:
        status = ctx.system.snapshot()["status"]
        return {"status": "ok" if status == "running" else status}

    @bp.get("/metrics")
    async def metrics() -> dict[str, Any]:
        """Cluster totals (the original fields first) and `nodes`, each node's own."""
        return cluster_document(ctx.metrics_document(), await ctx.cluster.view())

    @bp.get("/metrics/prometheus")
    async def prometheus() -> Response:
        cluster = cluster_document(ctx.metrics_document(), await ctx.cluster.view())
        gauges: dict[str, float] = {
            "viewers": ctx.limits.total,
            "rooms": len(running_rooms(ctx.system.registry)),
            "broker_connected": float(cluster["broker"]["state"] == "connected"),
            "cluster_nodes": len(cluster["nodes"]),
            "cluster_viewers": cluster["viewer_count"],
            "cluster_messages": cluster["messages_total"],
        }
        _tree_gauges(ctx.system.snapshot(), gauges)
        return Response(ctx.metrics.exposition(gauges), content_type=CONTENT_TYPE_LATEST)

    @bp.get("/api/rooms")
    async def rooms() -> dict[str, Any]:
        return {
            "rooms": [
                {"name": name, "viewers": info.get("members", 0), "seq": info.get("seq", 0)}
                for name, info in _room_infos(ctx)
            ]
        }

    @bp.get("/api/rooms/<room>/history")
    async def history(room: str) -> dict[str, Any]:
        await current_user(ctx)
        try:
            validate_room_name(room)
        except InvalidRoom as exc:
            raise ApiError(422, "invalid_room", str(exc)) from exc
        limit = int_arg("limit", 50, 1, 500)
        after = int_arg("after_seq", 0, 0, 2**62)
        records = await ctx.db.run(repo.room_history, room, limit, after or None)
        return {"room": room, "messages": [chat_frame(ChatMessage.from_record(r)) for r in records]}

    @bp.get("/api/actors")
    async def actors() -> dict[str, Any]:
        """This node's tree; under `cluster`, every other live node's latest tree."""
        await current_user(ctx, Role.MODERATOR)
        others = await ctx.cluster.view()
        return {
            **ctx.system.snapshot(),
            "node": ctx.metrics_document()["node"],
            "cluster": {node: beat["tree"] for node, beat in others.items() if beat["tree"]},
        }

    @bp.get("/api/actors/stream")
    async def actors_stream() -> Response:
        await current_user(ctx, Role.MODERATOR)
        interval = max(MIN_STREAM_INTERVAL, float(int_arg("interval_ms", 500, 100, 60000)) / 1000)
        system = ctx.system

        async def events() -> AsyncIterator[bytes]:
            async for snapshot in system.watch(interval=interval):
                yield f"event: snapshot\ndata: {json.dumps(snapshot)}\n\n".encode()

        return event_stream(events())

    return bp


def _room_infos(ctx: AppContext) -> list[tuple[str, dict[str, Any]]]:
    return [
        (node["info"]["room"], node["info"])
        for node in _walk(ctx.system.snapshot())
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
