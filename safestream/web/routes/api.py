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

import trio
from prometheus_client import CONTENT_TYPE_LATEST
from quart import Blueprint, Response
from quart_schema import document_response, validate_querystring, validate_response

from actors.introspection import snapshot_fingerprint
from safestream.accounts.auth import Role
from safestream.chat.frames import ChatMessage, chat_frame
from safestream.chat.room_supervisor import running_rooms
from safestream.cluster.agent import cluster_document
from safestream.store import repo
from safestream.store.records import UserRecord
from safestream.web.deps import authenticated, documented, event_stream, room_name
from safestream.web.models import HistoryQuery, StreamQuery
from safestream.web.models.responses import Health, History, Metrics, RoomInfo, RoomList

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["api_blueprint"]

MIN_STREAM_INTERVAL = 0.1


def api_blueprint(ctx: AppContext) -> Blueprint:
    bp = Blueprint("api", __name__)

    @bp.get("/health")
    @documented("monitoring")
    @validate_response(Health)
    async def health() -> Health:
        """Liveness of the actor tree"""
        status = ctx.system.snapshot()["status"]
        return Health(status="ok" if status == "running" else status)

    @bp.get("/metrics")
    @documented("monitoring")
    @document_response(Metrics)
    async def metrics() -> dict[str, Any]:
        """Counters as JSON

        The original's viewer_count, gift_count, toxic_pct, and more.
        Cluster totals (the original fields first) and `nodes`, each node's own.
        """
        return cluster_document(ctx.metrics_document(), await ctx.cluster.view())

    @bp.get("/metrics/prometheus")
    @documented("monitoring", content="text/plain")
    async def prometheus() -> Response:
        """Counters in Prometheus text format

        Messages, decisions, refusals, the moderation latency histogram, queue depths,
        drops and restarts.
        """
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
    @documented("rooms")
    @validate_response(RoomList)
    async def rooms() -> RoomList:
        """Running rooms"""
        return RoomList(
            rooms=[
                RoomInfo(name=name, viewers=info.get("members", 0), seq=info.get("seq", 0))
                for name, info in _room_infos(ctx)
            ]
        )

    @bp.get("/api/rooms/<room>/history")
    @documented("rooms", {422: ["invalid_room"]})
    @authenticated(ctx)
    @validate_querystring(HistoryQuery)
    @document_response(History)
    async def history(room: str, query_args: HistoryQuery, user: UserRecord) -> dict[str, Any]:
        """A room's stored messages"""
        name = room_name(room)
        after = query_args.after_seq or None
        records = await ctx.db.run(repo.room_history, name, query_args.limit, after)
        return {"room": name, "messages": [chat_frame(ChatMessage.from_record(r)) for r in records]}

    @bp.get("/api/actors")
    @documented("monitoring")
    @authenticated(ctx, Role.MODERATOR)
    async def actors(user: UserRecord) -> dict[str, Any]:
        """The supervision tree snapshot

        Per actor: name, path, kind, status, restarts, last error, mailbox depth and
        capacity, messages handled, uptime, its `info` and its children.
        Under `cluster`, every other live node's latest tree.
        """
        return await _trees(ctx)

    @bp.get("/api/actors/stream")
    @documented("monitoring", content="text/event-stream")
    @authenticated(ctx, Role.MODERATOR)
    @validate_querystring(StreamQuery)
    async def actors_stream(query_args: StreamQuery, user: UserRecord) -> Response:
        """The supervision tree, live (Server-Sent Events)

        An event `snapshot` (the tree as JSON, with the other nodes' under `cluster`)
        whenever a tree changes, checked every interval_ms.
        """
        interval = max(MIN_STREAM_INTERVAL, query_args.interval_ms / 1000)

        async def events() -> AsyncIterator[bytes]:
            last = ""
            while True:
                trees = await _trees(ctx)
                fingerprint = json.dumps(
                    [
                        snapshot_fingerprint(trees),
                        *map(snapshot_fingerprint, trees["cluster"].values()),
                    ]
                )
                if fingerprint != last:
                    last = fingerprint
                    yield f"event: snapshot\ndata: {json.dumps(trees)}\n\n".encode()
                await trio.sleep(interval)

        return event_stream(events())

    return bp


async def _trees(ctx: AppContext) -> dict[str, Any]:
    """This node's tree; under `cluster`, every other live node's latest tree."""
    others = await ctx.cluster.view()
    return {
        **ctx.system.snapshot(),
        "node": ctx.node,
        "cluster": {node: beat["tree"] for node, beat in others.items() if beat["tree"]},
    }


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
