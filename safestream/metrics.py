"""Node metrics: counters and a latency histogram, rendered as JSON or Prometheus text.

One `Metrics` object hangs off the app (no globals); actors update it from their own
tasks (all on the one Trio thread). `/metrics` keeps the original's JSON shape
(`viewer_count`, `gift_count`, `toxic_pct`); `/metrics/prometheus` adds the rest.

Example:
    metrics = Metrics()
    metrics.observe_moderation(0.004, batch=8)
    text = metrics.prometheus(gauges={"viewers": 3})
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LATENCY_BUCKETS", "Metrics"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass
class Metrics:
    """Counters since start (or since the last reset by an admin)."""

    messages_total: int = 0
    toxic_total: int = 0
    gift_count: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    slow_consumers: int = 0
    moderation_failures: int = 0
    moderation_unscored: int = 0
    moderation_texts: int = 0
    moderation_batches: int = 0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0

    def observe_message(self, *, toxic: bool, action: str) -> None:
        self.messages_total += 1
        self.toxic_total += int(toxic)
        self.actions[action] += 1

    def observe_moderation(self, seconds: float, batch: int) -> None:
        self.moderation_batches += 1
        self.moderation_texts += batch
        self.latency_sum += seconds
        self.latency_buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1

    @property
    def toxic_pct(self) -> float:
        """Percentage of scored messages flagged toxic, as the original reported it."""
        if not self.messages_total:
            return 0.0
        return round(100.0 * self.toxic_total / self.messages_total, 2)

    def document(self, *, viewers: int, rooms: int, model: str) -> dict[str, Any]:
        """The `/metrics` JSON document: the original's three fields first, then ours."""
        return {
            "viewer_count": viewers,
            "gift_count": self.gift_count,
            "toxic_pct": self.toxic_pct,
            "messages_total": self.messages_total,
            "toxic_total": self.toxic_total,
            "rooms": rooms,
            "actions": dict(self.actions),
            "refused": dict(self.refused),
            "slow_consumers": self.slow_consumers,
            "moderation": {
                "model": model,
                "batches": self.moderation_batches,
                "texts": self.moderation_texts,
                "failures": self.moderation_failures,
                "unscored": self.moderation_unscored,
                "mean_latency_ms": round(1000 * self.latency_sum / self.moderation_batches, 3)
                if self.moderation_batches
                else 0.0,
            },
        }

    def reset(self) -> None:
        """Zero every counter (the original's `/api/admin/reset_metrics`)."""
        fresh = Metrics()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))

    def prometheus(self, gauges: dict[str, float]) -> str:
        """Prometheus text exposition of counters, the histogram and given gauges."""
        lines = [
            "# TYPE safestream_messages_total counter",
            f"safestream_messages_total {self.messages_total}",
            "# TYPE safestream_toxic_messages_total counter",
            f"safestream_toxic_messages_total {self.toxic_total}",
            "# TYPE safestream_gifts_total counter",
            f"safestream_gifts_total {self.gift_count}",
            "# TYPE safestream_slow_consumers_total counter",
            f"safestream_slow_consumers_total {self.slow_consumers}",
            "# TYPE safestream_moderation_failures_total counter",
            f"safestream_moderation_failures_total {self.moderation_failures}",
            "# TYPE safestream_moderation_unscored_total counter",
            f"safestream_moderation_unscored_total {self.moderation_unscored}",
            "# TYPE safestream_decisions_total counter",
        ]
        lines += [
            f'safestream_decisions_total{{action="{a}"}} {n}' for a, n in self.actions.items()
        ]
        lines.append("# TYPE safestream_refused_total counter")
        lines += [f'safestream_refused_total{{reason="{r}"}} {n}' for r, n in self.refused.items()]
        lines.append("# TYPE safestream_moderation_latency_seconds histogram")
        cumulative = 0
        for bound, count in zip(LATENCY_BUCKETS, self.latency_buckets, strict=False):
            cumulative += count
            lines.append(
                f'safestream_moderation_latency_seconds_bucket{{le="{bound}"}} {cumulative}'
            )
        lines.append(
            f'safestream_moderation_latency_seconds_bucket{{le="+Inf"}} {self.moderation_batches}'
        )
        lines.append(f"safestream_moderation_latency_seconds_sum {self.latency_sum:.6f}")
        lines.append(f"safestream_moderation_latency_seconds_count {self.moderation_batches}")
        for name, value in sorted(gauges.items()):
            lines += [f"# TYPE safestream_{name} gauge", f"safestream_{name} {value}"]
        return "\n".join(lines) + "\n"
