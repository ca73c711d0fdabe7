"""ClusterAgent: cluster-wide state for one node — moderator actions, counts and trees.

Every node runs one agent (a supervised actor). It

- **announces** what a moderator did on this node (mute, unmute, ban, unban, kick,
  policy change, shadow policy attached or detached, metrics reset) on
  `cluster.control`, and **applies** what other nodes announce to this node's sanctions,
  metrics, shadow policies and running rooms, so an action taken on any node holds on
  every node within one broker round trip;
- **publishes a heartbeat** every `HEARTBEAT_SECS` on `cluster.nodes` (this node's
  `/metrics` document and, less often, its supervision tree) and keeps the other nodes'
  latest, so `/metrics` can show cluster totals with a per-node breakdown and
  `/api/actors` every node's tree. A node silent for `NODE_STALE_SECS` drops out.

With the in-process broker (one node) there is nobody to tell: announcing is a no-op.
Malformed envelopes (another version, a stray publisher) are counted and dropped.

Example:
    ClusterClient(system.address("cluster")).announce(Control("mute", "ann", {"until": t}))
    view = await ClusterClient(system.address("cluster")).view()   # {node: {...}}
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import trio

from actors import Actor, ActorError, Address, Registry
from safestream.chat.room_messages import CloseUser, SetPolicy
from safestream.chat.room_supervisor import running_rooms
from safestream.chat.sanctions import Sanctions
from safestream.cluster.actor import BrokerClient
from safestream.cluster.broker import BrokerUnavailable
from safestream.metrics import Metrics
from safestream.moderation.policy import PolicyError, RoomPolicy
from safestream.moderation.shadow import Shadow, ShadowBoard

__all__ = [
    "CONTROL_KINDS",
    "ClusterAgent",
    "ClusterClient",
    "Control",
    "View",
    "cluster_document",
]

VERSION = 1
HEARTBEAT_SECS = 1.0
TREE_EVERY = 3  # heartbeats between two trees
NODE_STALE_SECS = 5.0
CONTROL_KINDS = frozenset(
    {"mute", "unmute", "ban", "unban", "close_user", "policy", "shadow", "reset_metrics"}
)


@dataclass(frozen=True)
class Control:
    """A moderator action to apply on every node (`target` is a user or a room)."""

    kind: str
    target: str = ""
    fields: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in CONTROL_KINDS:
            raise ValueError(f"unknown control {self.kind!r}")


@dataclass(frozen=True)
class View:
    """Ask: the other live nodes' latest heartbeat, `{node: {"metrics", "tree", "age"}}`."""


class ClusterAgent(Actor):
    kind = "cluster_agent"

    def __init__(
        self,
        broker: BrokerClient | None,
        *,
        node: str,
        sanctions: Sanctions,
        metrics: Metrics,
        registry: Registry,
        metrics_document: Callable[[], dict[str, Any]],
        shadows: ShadowBoard | None = None,
    ) -> None:
        self._broker = broker
        self._shadows = shadows
        self._node = node
        self._sanctions = sanctions
        self._metrics = metrics
        self._registry = registry
        self._metrics_document = metrics_document
        self._nodes: dict[str, dict[str, Any]] = {}
        self._applied = 0
        self._dropped = 0

    async def run(self) -> None:
        if self._broker is None:
            await super().run()
            return
        control = await self._broker.subscribe("cluster.control", capacity=1024)
        nodes = await self._broker.subscribe("cluster.nodes", capacity=1024)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._heartbeat, self._broker)
            nursery.start_soon(self._receive, control, self._apply)
            nursery.start_soon(self._receive, nodes, self._remember)
            await super().run()
            nursery.cancel_scope.cancel()

    async def handle(self, message: Any) -> Any:
        match message:
            case Control():
                if self._broker is not None:
                    body = {"kind": message.kind, "target": message.target, **message.fields}
                    self._broker.publish("cluster.control", self._dump(body))
            case View():
                now = trio.current_time()
                return {
                    node: {**beat, "age": round(now - beat["at"], 3)}
                    for node, beat in self._nodes.items()
                    if now - beat["at"] <= NODE_STALE_SECS
                }
            case _:
                return await super().handle(message)
        return None

    async def _heartbeat(self, broker: BrokerClient) -> None:
        beats = 0
        while True:
            body: dict[str, Any] = {"metrics": self._metrics_document()}
            if beats % TREE_EVERY == 0:
                body["tree"] = self.system.snapshot()
            broker.publish("cluster.nodes", self._dump(body))
            beats += 1
            await trio.sleep(HEARTBEAT_SECS)

    async def _receive(
        self, channel: trio.MemoryReceiveChannel[bytes], use: Callable[[dict[str, Any]], None]
    ) -> None:
        async with channel:
            async for payload in channel:
                try:
                    data = json.loads(payload)
                    if not isinstance(data, dict) or data.get("v") != VERSION:
                        raise ValueError("unknown envelope version")
                    if data.get("node") == self._node:
                        continue
                    use(data)
                except (ValueError, TypeError, KeyError, RecursionError, PolicyError):
                    self._dropped += 1

    def _remember(self, data: dict[str, Any]) -> None:
        node = str(data["node"])
        if not isinstance(data.get("metrics"), dict):
            raise ValueError("a heartbeat needs metrics")
        previous = self._nodes.get(node, {})
        tree = data.get("tree", previous.get("tree"))
        self._nodes[node] = {"metrics": data["metrics"], "tree": tree, "at": trio.current_time()}

    def _apply(self, data: dict[str, Any]) -> None:
        kind, target = data["kind"], str(data.get("target", ""))
        match kind:
            case "mute":
                self._sanctions.mute_until(target, float(data["until"]))
            case "unmute":
                self._sanctions.unmute(target)
            case "ban":
                self._sanctions.ban(target, float(data.get("until") or float("inf")))
            case "unban":
                self._sanctions.unban(target)
            case "close_user":
                self._tell_rooms(CloseUser(target, int(data["code"]), str(data["reason"])))
            case "policy":
                policy = RoomPolicy.from_dict(data["policy"])
                room = self._registry.lookup(f"room:{target}")
                if room is not None:
                    room.tell_nowait(SetPolicy(policy))
            case "shadow":
                if self._shadows is not None:
                    self._shadows.set(target, _shadow(target, data))
            case "reset_metrics":
                self._metrics.reset()
            case _:
                raise ValueError(f"unknown control {kind!r}")
        self._applied += 1

    def _tell_rooms(self, message: Any) -> None:
        for _name, room in running_rooms(self._registry):
            try:
                room.tell_nowait(message)
            except ActorError:
                continue  # a room stopping right now closes its members anyway

    def _dump(self, body: dict[str, Any]) -> bytes:
        return json.dumps({"v": VERSION, "node": self._node, **body}).encode()

    def introspect(self) -> dict[str, Any]:
        return {
            "node": self._node,
            "nodes": sorted(self._nodes),
            "applied": self._applied,
            "dropped": self._dropped,
        }


def _shadow(room: str, data: dict[str, Any]) -> Shadow | None:
    """The shadow a `shadow` control attaches (`id` and `policy`), or None (detached)."""
    if data.get("id") is None:
        return None
    return Shadow(int(data["id"]), room, RoomPolicy.from_dict(data["policy"]))


class ClusterClient:
    """What routes use: announce an action to the other nodes; see them."""

    def __init__(self, agent: Address) -> None:
        self._agent = agent

    def announce(self, control: Control) -> None:
        """Tell the other nodes (best effort: the action already holds here)."""
        try:
            self._agent.tell_nowait(control)
        except ActorError:
            pass  # the agent restarts: the other nodes learn stored state at their start

    async def view(self) -> dict[str, dict[str, Any]]:
        try:
            nodes: dict[str, dict[str, Any]] = await self._agent.ask(View(), timeout=2.0)
        except (ActorError, BrokerUnavailable):
            return {}
        return nodes


# The /metrics fields that add up across nodes (the others are this node's own).
SUMMED = ("viewer_count", "gift_count", "messages_total", "toxic_total", "slow_consumers")
COUNTED = ("actions", "refused")  # counts by key, added up key by key


def cluster_document(own: dict[str, Any], others: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """This node's `/metrics` document with cluster totals and a per-node breakdown.

    The original fields (`viewer_count`, `gift_count`, `toxic_pct`) and the other counts
    become totals over every live node; `nodes` holds each node's own document.
    """
    docs = {own.get("node", "this"): own} | {node: beat["metrics"] for node, beat in others.items()}
    total = dict(own)
    for name in SUMMED:
        total[name] = sum(int(doc.get(name, 0)) for doc in docs.values())
    for name in COUNTED:
        total[name] = _sum_counts(doc.get(name, {}) for doc in docs.values())
    total["overload"] = {
        part: _sum_counts(doc.get("overload", {}).get(part, {}) for doc in docs.values())
        for part in ("room_busy", "shed")
    }
    total["rooms"] = own.get("rooms", 0)
    messages = total["messages_total"]
    total["toxic_pct"] = round(100.0 * total["toxic_total"] / messages, 2) if messages else 0.0
    total["nodes"] = docs
    return total


def _sum_counts(counts: Iterable[dict[str, Any]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for part in counts:
        total.update({key: int(value) for key, value in part.items()})
    return dict(total)
