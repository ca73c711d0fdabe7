"""Pure functions turning the app's JSON into rows and pandas DataFrames for the dashboard.

No I/O and no Panel here, so everything is unit-tested without a server. The Panel views
(`dashboard.views`, `dashboard.tree_view`) only draw what these functions return.

Example:
    rows = tree_rows(snapshot)            # one dict per actor, depth-first, with depth
    df = filter_messages(messages_frame(msgs), user="ann", toxic_only=True)
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dashboard.whatif import why_text
from safestream.chat.protocol import BUSY_CAUSES

__all__ = [
    "HIDDEN_COLUMNS",
    "MESSAGE_COLUMNS",
    "MESSAGE_DTYPES",
    "STATUS_COLOURS",
    "MetricsHistory",
    "Overload",
    "audit_frame",
    "filter_messages",
    "gifters_frame",
    "merge_messages",
    "messages_frame",
    "overload",
    "score_distribution",
    "tree_changes",
    "tree_edges",
    "tree_rows",
    "with_why",
]

STATUS_COLOURS: dict[str, str] = {
    "running": "#2ecc71",
    "starting": "#3498db",
    "restarting": "#f39c12",
    "stopping": "#95a5a6",
    "stopped": "#7f8c8d",
    "failed": "#ff0050",
}
UNKNOWN_COLOUR = "#bdc3c7"

MESSAGE_COLUMNS = [
    "id",
    "ts",
    "room",
    "user",
    "message",
    "action",
    "rule",
    "toxic",
    "score",
    "status",
    "seq",
]
# The column types that do not follow from the rows. Panel gives a Tabulator column its
# sorter from its dtype, and the page rebuilds a table whose columns changed, dropping
# the data that reaches it meanwhile: so an empty frame has the types of a full one (an
# empty `seq` column would be `object`, a full one `int64`). `Int64` keeps a missing seq.
MESSAGE_DTYPES: dict[str, str | type] = {"score": float, "toxic": bool, "seq": "Int64"}
# Kept with each message but not shown as columns: scores per category (the score
# chart), the decision's why (the why pane) and the text as sent (masked in `message`).
HIDDEN_COLUMNS = ["scores", "why", "original"]


def tree_rows(snapshot: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Flatten a supervision-tree snapshot depth-first (parents before their children).

    Each row has: path, parent (path or ""), name, kind, depth, status, colour, restarts,
    handled, uptime, mailbox depth/capacity/fill (0..1)/dropped/policy, last_error
    ("Type: message" or "") and error_at, and label (the name indented by depth).

    A cluster's other nodes (the snapshot's `cluster`, `{node: tree}`) follow this node's
    tree, each row's path prefixed with `<node>:` so every path stays unique.
    """
    rows = _rows(snapshot, "")
    for node, tree in sorted((snapshot.get("cluster") or {}).items()):
        rows += _rows(tree, f"{node}:")
    return rows


def _rows(snapshot: Mapping[str, Any], prefix: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    stack: list[tuple[Mapping[str, Any], int, str]] = [(snapshot, 0, "")]
    while stack:
        node, depth, parent = stack.pop()
        rows.append(_tree_row(node, depth, parent, prefix))
        children = node.get("children") or []
        path = rows[-1]["path"]
        stack.extend((child, depth + 1, path) for child in reversed(children))
    return rows


def _tree_row(node: Mapping[str, Any], depth: int, parent: str, prefix: str) -> dict[str, Any]:
    name = str(node.get("name", "?"))
    mailbox = node.get("mailbox") or {}
    capacity = int(mailbox.get("capacity") or 0)
    mailbox_depth = int(mailbox.get("depth") or 0)
    error = node.get("last_error") or None
    status = str(node.get("status", "unknown"))
    return {
        "path": prefix + str(node.get("path") or f"{parent}/{name}").removeprefix(prefix),
        "parent": parent,
        "name": name,
        "kind": str(node.get("kind", "")),
        "depth": depth,
        "label": "\u2003" * depth + name,
        "status": status,
        "colour": STATUS_COLOURS.get(status, UNKNOWN_COLOUR),
        "restarts": int(node.get("restarts") or 0),
        "handled": int(node.get("handled") or 0),
        "uptime": float(node.get("uptime") or 0.0),
        "mailbox_depth": mailbox_depth,
        "mailbox_capacity": capacity,
        "mailbox_fill": min(1.0, mailbox_depth / capacity) if capacity else 0.0,
        "mailbox_dropped": int(mailbox.get("dropped") or 0),
        "mailbox_policy": str(mailbox.get("policy") or ""),
        "last_error": f"{error.get('type', 'Error')}: {error.get('message', '')}" if error else "",
        "error_at": str(error.get("at", "")) if error else "",
    }


def tree_edges(rows: list[dict[str, Any]]) -> tuple[list[list[float]], list[list[float]]]:
    """Elbow connectors for `tree_rows` drawn at x=depth, y=-row index: (xs, ys) per edge."""
    index = {row["path"]: i for i, row in enumerate(rows)}
    xs: list[list[float]] = []
    ys: list[list[float]] = []
    for i, row in enumerate(rows):
        p = index.get(row["parent"])
        if p is None:
            continue
        px = float(rows[p]["depth"])
        xs.append([px, px, float(row["depth"])])
        ys.append([-float(p), -float(i), -float(i)])
    return xs, ys


def tree_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """What happened between two `tree_rows`: actors started, stopped, changed status,
    restarted or got a new last error, one line each (for the tree's event log)."""
    before = {row["path"]: row for row in old}
    after = {row["path"]: row for row in new}
    lines: list[str] = []
    for path, row in after.items():
        prev = before.get(path)
        if prev is None:
            lines.append(f"{path}: appeared ({row['status']})")
            continue
        if row["status"] != prev["status"]:
            lines.append(f"{path}: {prev['status']} \u2192 {row['status']}")
        if row["restarts"] > prev["restarts"]:
            lines.append(f"{path}: restarted (restarts {row['restarts']})")
        if row["last_error"] and row["last_error"] != prev["last_error"]:
            lines.append(f"{path}: error {row['last_error']}")
    lines.extend(f"{path}: gone" for path in before if path not in after)
    return lines


@dataclass
class MetricsHistory:
    """A bounded series of `/metrics` samples, for rates and rolling percentages.

    Counters that go down (metrics were reset, or the app restarted) start a new baseline
    instead of giving negative rates.
    """

    maxlen: int = 600
    _samples: deque[tuple[float, Mapping[str, Any]]] = field(default_factory=deque)

    def add(self, t: float, metrics: Mapping[str, Any]) -> None:
        self._samples.append((t, metrics))
        while len(self._samples) > self.maxlen:
            self._samples.popleft()

    def __len__(self) -> int:
        return len(self._samples)

    def frame(self, window_secs: float = 30.0) -> pd.DataFrame:
        """Columns t, messages_per_sec, toxic_pct (rolling over `window_secs`), viewers."""
        rows: list[dict[str, float]] = []
        samples = list(self._samples)
        start = 0
        for i, (t, m) in enumerate(samples):
            if i and _total(m) < _total(samples[i - 1][1]):
                start = i
            lo = start
            while lo < i and t - samples[lo][0] > window_secs:
                lo += 1
            prev_t, prev = samples[max(start, i - 1)]
            dt = t - prev_t
            rate = (_total(m) - _total(prev)) / dt if dt > 0 else 0.0
            base = samples[lo][1] if lo < i else {}
            sent = _total(m) - _total(base)
            toxic = _toxic(m) - _toxic(base)
            rows.append(
                {
                    "t": t,
                    "messages_per_sec": max(0.0, rate),
                    "toxic_pct": 100.0 * toxic / sent if sent > 0 else 0.0,
                    "viewers": float(m.get("viewer_count") or 0),
                }
            )
        return pd.DataFrame(rows, columns=["t", "messages_per_sec", "toxic_pct", "viewers"])

    def samples(self) -> Iterable[tuple[float, Mapping[str, Any]]]:
        return iter(self._samples)

    def latest_rate(self) -> float:
        """Messages per second between the last two samples (0 with fewer than two)."""
        df = self.frame(window_secs=0.0)
        return float(df["messages_per_sec"].iloc[-1]) if len(df) else 0.0


@dataclass(frozen=True)
class Overload:
    """What the chat turned away in a window of `/metrics` samples (all counts)."""

    secs: float = 0.0
    refused: Mapping[str, int] = field(default_factory=dict)  # room_busy, by cause
    shed: int = 0  # presence and gift updates skipped for viewers behind
    cut: int = 0  # viewers closed as too slow (4008)

    @property
    def refused_per_sec(self) -> float:
        return sum(self.refused.values()) / self.secs if self.secs > 0 else 0.0

    def text(self) -> str:
        """A sentence for moderators, or "" when nothing was turned away."""
        parts = []
        if total := sum(self.refused.values()):
            causes = "; ".join(
                f"{BUSY_CAUSES.get(cause, cause)}: {n}"
                for cause, n in sorted(self.refused.items(), key=lambda kv: -kv[1])
            )
            parts.append(f"The chat refused {_count(total, 'post')} as busy ({causes}).")
        if self.cut:
            parts.append(f"{_count(self.cut, 'viewer')} cut off as too slow.")
        if self.shed:
            parts.append(f"{_count(self.shed, 'presence or gift update')} skipped.")
        return f"Last {self.secs:.0f} s: " + " ".join(parts) if parts else ""


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def overload(history: MetricsHistory, window_secs: float = 30.0) -> Overload:
    """What was refused, cut and shed between the oldest sample of the window (after
    any counter reset) and the newest."""
    samples = list(history.samples())
    if len(samples) < 2:
        return Overload()
    newest_t, newest = samples[-1]
    base_t, base = newest_t, newest
    for t, m in reversed(samples[:-1]):
        older, newer = _overload_counts(m), _overload_counts(base)
        if newest_t - t > window_secs or any(o > n for o, n in zip(older, newer, strict=True)):
            break  # out of the window, or the counters were reset after this sample
        base_t, base = t, m
    busy, base_busy = _busy(newest), _busy(base)
    refused = {c: n - base_busy.get(c, 0) for c, n in busy.items() if n > base_busy.get(c, 0)}
    return Overload(
        secs=newest_t - base_t,
        refused=refused,
        shed=max(0, _shed(newest) - _shed(base)),
        cut=max(0, _cut(newest) - _cut(base)),
    )


def _busy(m: Mapping[str, Any]) -> dict[str, int]:
    return {str(k): int(v) for k, v in ((m.get("overload") or {}).get("room_busy") or {}).items()}


def _shed(m: Mapping[str, Any]) -> int:
    return sum(int(v) for v in ((m.get("overload") or {}).get("shed") or {}).values())


def _cut(m: Mapping[str, Any]) -> int:
    return int(m.get("slow_consumers") or 0)


def _overload_counts(m: Mapping[str, Any]) -> tuple[int, int, int]:
    return sum(_busy(m).values()), _shed(m), _cut(m)


def _total(m: Mapping[str, Any]) -> int:
    return int(m.get("messages_total") or 0)


def _toxic(m: Mapping[str, Any]) -> int:
    return int(m.get("toxic_total") or 0)


def messages_frame(messages: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Messages (from `/api/admin/messages` or events) as a table with `MESSAGE_COLUMNS`
    and `HIDDEN_COLUMNS`.

    `scores` stays a dict column for `score_distribution`, `why` the decision's
    explanation (its rule is the `rule` column); the views do not show them.
    """
    records = []
    for msg in messages:
        record = {col: msg.get(col) for col in MESSAGE_COLUMNS}
        record["score"] = float(msg.get("score") or 0.0)
        record["toxic"] = bool(msg.get("toxic"))
        record["action"] = str(msg.get("action") or "")
        record["status"] = str(msg.get("status") or "")
        record["scores"] = dict(msg.get("scores") or {})
        record["why"] = dict(msg.get("why") or {})
        record["rule"] = why_text(record["why"])
        record["original"] = str(msg.get("original") or msg.get("message") or "")
        records.append(record)
    df = pd.DataFrame(records, columns=[*MESSAGE_COLUMNS, *HIDDEN_COLUMNS])
    return df.astype(MESSAGE_DTYPES)


def merge_messages(current: pd.DataFrame, new: pd.DataFrame, limit: int = 500) -> pd.DataFrame:
    """`current` updated by `new` (same id: the newer row wins), newest first, at most `limit`."""
    if current.empty:
        merged = new
    elif new.empty:
        merged = current
    else:
        merged = pd.concat([new, current], ignore_index=True)
    merged = merged.drop_duplicates(subset="id", keep="first")
    merged = merged.sort_values("ts", ascending=False, kind="stable", na_position="last")
    return merged.head(limit).reset_index(drop=True)


def filter_messages(
    df: pd.DataFrame,
    *,
    user: str = "",
    room: str = "",
    toxic_only: bool = False,
    action: str = "",
) -> pd.DataFrame:
    """Rows matching every given filter: user is a case-insensitive substring, room and
    action match exactly ("" means any)."""
    mask = pd.Series(True, index=df.index)
    if user:
        mask &= df["user"].astype(str).str.contains(user, case=False, regex=False)
    if room:
        mask &= df["room"] == room
    if toxic_only:
        mask &= df["toxic"]
    if action:
        mask &= df["action"] == action
    return df[mask].reset_index(drop=True)


def score_distribution(df: pd.DataFrame) -> pd.DataFrame:
    """Per category: count, min, q1, median, q3, max and mean of the messages' scores."""
    long = [
        (category, float(score))
        for scores in df.get("scores", pd.Series(dtype=object))
        for category, score in (scores or {}).items()
        if isinstance(score, int | float) and not math.isnan(score)
    ]
    columns = ["category", "count", "min", "q1", "median", "q3", "max", "mean"]
    if not long:
        return pd.DataFrame(columns=columns)
    scores = pd.DataFrame(long, columns=["category", "score"]).groupby("category")["score"]
    out = pd.DataFrame(
        {
            "count": scores.count(),
            "min": scores.min(),
            "q1": scores.quantile(0.25),
            "median": scores.median(),
            "q3": scores.quantile(0.75),
            "max": scores.max(),
            "mean": scores.mean(),
        }
    )
    return out.reset_index()[columns]


def gifters_frame(top: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Top gifters, biggest first: columns user, amount."""
    df = pd.DataFrame(
        [{"user": str(g.get("user", "")), "amount": float(g.get("amount") or 0)} for g in top],
        columns=["user", "amount"],
    )
    return df.sort_values("amount", ascending=False, kind="stable").reset_index(drop=True)


AUDIT_COLUMNS = ["id", "created_at", "actor", "action", "target", "room", "reason", "duration_secs"]
# As for messages: the same column types with rows or without, so the table's first
# rows change only its data (see MESSAGE_DTYPES).
AUDIT_DTYPES: dict[str, str | type] = {"id": "Int64", "duration_secs": "Float64"}


def audit_frame(actions: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The audit log as a table, newest first."""
    df = pd.DataFrame(
        [{col: a.get(col) for col in AUDIT_COLUMNS} for a in actions], columns=AUDIT_COLUMNS
    )
    df = df.sort_values("created_at", ascending=False, kind="stable").reset_index(drop=True)
    return df.astype(AUDIT_DTYPES)


def with_why(df: pd.DataFrame, message_id: str, why: Mapping[str, Any]) -> pd.DataFrame:
    """`df` with one message's explanation replaced (a `why` event, an explain)."""
    rows = df.index[df["id"] == message_id]
    if rows.empty:
        return df
    out = df.copy()
    for row in rows:
        out.at[row, "why"] = dict(why)
        out.at[row, "rule"] = why_text(why)
    return out
