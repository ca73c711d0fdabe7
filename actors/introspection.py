"""Snapshots of the live actor tree, and a text renderer for them.

:func:`snapshot_cell` turns a cell and its descendants into plain JSON-able data; the
:class:`~actors.system.ActorSystem` exposes it as ``system.snapshot()``. Each node is::

    {"name", "path", "kind", "status", "restarts", "last_error", "mailbox",
     "handled", "uptime", "info", "children"}

where ``status`` is one of ``starting``, ``running``, ``restarting``, ``stopping``,
``stopped``, ``failed``; ``last_error`` is ``None`` or ``{"type", "message", "at"}`` (trio
time); ``mailbox`` is ``{"depth", "capacity", "dropped", "sent", "policy"}``; ``info`` is
the actor's ``introspect()`` (supervisors: ``strategy``, ``max_restarts``, ``within``).

:func:`format_tree` renders a snapshot as an indented text tree for terminals.
"""

from __future__ import annotations

import json
from typing import Any

from .cell import ActorCell

__all__ = ["format_tree", "snapshot_cell", "snapshot_fingerprint"]


def _json_safe(value: dict[str, Any]) -> dict[str, Any]:
    safe: dict[str, Any] = json.loads(json.dumps(value, default=repr))
    return safe


def snapshot_cell(cell: ActorCell) -> dict[str, Any]:
    """The snapshot node of ``cell`` and its descendants (plain JSON-able data).

    Safe to call at any time from any task: it only reads, and an ``introspect()`` that
    raises is reported under ``info["introspect_error"]`` instead of propagating.
    """
    actor = cell.actor
    info: dict[str, Any] = {}
    children: list[ActorCell] = []
    if actor is not None:
        try:
            info = _json_safe(actor.introspect())
        except Exception as exc:  # a snapshot must never fail because of one actor
            info = {"introspect_error": repr(exc)}
        children = actor._child_cells()
    stats = cell.mailbox.statistics()
    return {
        "name": cell.name,
        "path": cell.path,
        "kind": cell.kind,
        "status": cell.status,
        "restarts": cell.restarts,
        "last_error": None if cell.last_error is None else cell.last_error.as_dict(),
        "mailbox": {
            "depth": stats.depth,
            "capacity": stats.capacity,
            "dropped": stats.dropped,
            "sent": stats.sent,
            "policy": stats.policy,
        },
        "handled": cell.handled,
        "uptime": cell.uptime(),
        "info": info,
        "children": [snapshot_cell(child) for child in children],
    }


def snapshot_fingerprint(node: dict[str, Any]) -> str:
    """A string equal for two snapshots that differ only in uptimes (for change feeds)."""

    def strip(n: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in n.items() if k not in ("uptime", "children")}
        out["children"] = [strip(c) for c in n.get("children", [])]
        return out

    return json.dumps(strip(node), sort_keys=True)


def _line(node: dict[str, Any]) -> str:
    mailbox = node["mailbox"]
    parts = [
        f"{node['name']} [{node['kind']}]",
        node["status"],
        f"restarts={node['restarts']}",
        f"mailbox={mailbox['depth']}/{mailbox['capacity']}",
        f"handled={node['handled']}",
        f"up={node['uptime']:.1f}s",
    ]
    if mailbox["dropped"]:
        parts.append(f"dropped={mailbox['dropped']}")
    error = node.get("last_error")
    if error:
        parts.append(f"last_error={error['type']}: {error['message']}")
    return "  ".join(parts)


def format_tree(snapshot: dict[str, Any]) -> str:
    """Render a snapshot (as from ``ActorSystem.snapshot()``) as an indented text tree.

    Example output::

        system [Supervisor]  running  restarts=0  mailbox=0/64  handled=0  up=3.0s
        ├── ticker [Ticker]  running  restarts=0  mailbox=0/64  handled=6  up=3.0s
        └── worker [Worker]  running  restarts=1  ...  last_error=RuntimeError: boom
    """
    if not snapshot:
        return "(no actors)"
    lines = [_line(snapshot)]

    def walk(children: list[dict[str, Any]], prefix: str) -> None:
        for index, child in enumerate(children):
            last = index == len(children) - 1
            lines.append(prefix + ("└── " if last else "├── ") + _line(child))
            walk(child.get("children", []), prefix + ("    " if last else "│   "))

    walk(snapshot.get("children", []), "")
    return "\n".join(lines)
