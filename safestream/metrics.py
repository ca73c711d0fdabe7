"""Node metrics: counters and a latency histogram, served as JSON or Prometheus text.

One `Metrics` object hangs off the app (no globals); actors update its plain fields from
their own tasks (all on the one Trio thread). `/metrics` keeps the original's JSON shape
(`viewer_count`, `gift_count`, `toxic_pct`); `/metrics/prometheus` adds the rest.

The Prometheus side is prometheus_client's: each `Metrics` owns its own
`CollectorRegistry` (never the library's global `REGISTRY`), in which a `MetricsCollector`
builds the metric families from the fields when scraped, so counting stays a plain
`+= 1` and `reset()` zeroes what the next scrape shows. Gauges owned by other parts of the
app (viewers, rooms, the actor tree) are read by the route and passed to `exposition`.

Example:
    metrics = Metrics()
    metrics.observe_moderation(0.004, batch=8)
    text = metrics.exposition(gauges={"viewers": 3})  # bytes, CONTENT_TYPE_LATEST
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

__all__ = ["LATENCY_BUCKETS", "Metrics", "MetricsCollector"]

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
    # Overload: posts refused room_busy by cause, optional frames shed by kind.
    room_busy: Counter[str] = field(default_factory=Counter)
    shed: Counter[str] = field(default_factory=Counter)
    moderation_failures: int = 0
    moderation_unscored: int = 0
    moderation_texts: int = 0
    moderation_batches: int = 0
    # Texts the cascade's uncertain band sent on to its second-opinion model (Detoxify).
    moderation_escalated: int = 0
    model_swaps: int = 0
    # The live model's name after a hot swap ("" until one happens; then it wins).
    moderation_model: str = ""
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0
    # Not a counter: this app's registry, holding a MetricsCollector over these fields.
    registry: CollectorRegistry = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(MetricsCollector(self))

    def observe_message(self, *, toxic: bool, action: str) -> None:
        self.messages_total += 1
        self.toxic_total += int(toxic)
        self.actions[action] += 1

    def observe_moderation(self, seconds: float, batch: int, escalated: int = 0) -> None:
        self.moderation_batches += 1
        self.moderation_texts += batch
        self.moderation_escalated += escalated
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
            "overload": {
                "room_busy": dict(self.room_busy),
                "shed": dict(self.shed),
            },
            "moderation": {
                "model": self.moderation_model or model,
                "batches": self.moderation_batches,
                "texts": self.moderation_texts,
                "failures": self.moderation_failures,
                "unscored": self.moderation_unscored,
                "escalated": self.moderation_escalated,
                "escalated_share": round(self.moderation_escalated / self.moderation_texts, 4)
                if self.moderation_texts
                else 0.0,
                "model_swaps": self.model_swaps,
                "mean_latency_ms": round(1000 * self.latency_sum / self.moderation_batches, 3)
                if self.moderation_batches
                else 0.0,
            },
        }

    def reset(self) -> None:
        """Zero every counter (the original's `/api/admin/reset_metrics`); keep the registry."""
        fresh = Metrics()
        for counter in fields(self):
            if counter.init:
                setattr(self, counter.name, getattr(fresh, counter.name))

    def exposition(self, gauges: Mapping[str, float]) -> bytes:
        """Prometheus text of this app's registry plus `gauges` read for this scrape.

        Each gauge `name` is exposed as `safestream_<name>`. Serve the result with
        `prometheus_client.CONTENT_TYPE_LATEST`.
        """
        return generate_latest(_Scrape(self.registry, gauges))


class MetricsCollector(Collector):
    """Builds the counter and histogram families from a `Metrics` object when scraped."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self._metrics
        yield CounterMetricFamily(
            "safestream_messages_total", "Chat messages moderated", value=m.messages_total
        )
        yield CounterMetricFamily(
            "safestream_toxic_messages_total", "Messages flagged toxic", value=m.toxic_total
        )
        yield CounterMetricFamily("safestream_gifts_total", "Gifts sent", value=m.gift_count)
        yield CounterMetricFamily(
            "safestream_slow_consumers_total",
            "Viewers closed because they stopped reading (their socket stayed full)",
            value=m.slow_consumers,
        )
        yield CounterMetricFamily(
            "safestream_moderation_failures_total",
            "Model batches that raised",
            value=m.moderation_failures,
        )
        yield CounterMetricFamily(
            "safestream_moderation_unscored_total",
            "Messages decided unscored, by the failure mode",
            value=m.moderation_unscored,
        )
        yield CounterMetricFamily(
            "safestream_moderation_texts_total",
            "Texts scored by the model",
            value=m.moderation_texts,
        )
        yield CounterMetricFamily(
            "safestream_moderation_escalated_total",
            "Texts the uncertain band sent to the second-opinion model (Detoxify)",
            value=m.moderation_escalated,
        )
        yield GaugeMetricFamily(
            "safestream_moderation_escalated_ratio",
            "Share of scored texts that the second-opinion model (Detoxify) saw",
            value=m.moderation_escalated / m.moderation_texts if m.moderation_texts else 0.0,
        )
        yield CounterMetricFamily(
            "safestream_model_swaps_total",
            "Live model swaps (retrain or rollback)",
            value=m.model_swaps,
        )
        yield _labelled(
            "safestream_decisions_total", "Moderation decisions by action", "action", m.actions
        )
        yield _labelled(
            "safestream_refused_total",
            "Refused frames, messages and connections",
            "reason",
            m.refused,
        )
        yield _labelled(
            "safestream_room_busy_total",
            "Posts refused because the room was behind, by cause",
            "cause",
            m.room_busy,
        )
        yield _labelled(
            "safestream_shed_frames_total",
            "Optional frames (presence, gifts) not sent to viewers that were behind",
            "kind",
            m.shed,
        )
        cumulative, buckets = 0, []
        bounds = [f"{bound}" for bound in LATENCY_BUCKETS] + ["+Inf"]
        for bound, count in zip(bounds, m.latency_buckets, strict=True):
            cumulative += count
            buckets.append((bound, float(cumulative)))
        yield HistogramMetricFamily(
            "safestream_moderation_latency_seconds",
            "Seconds the model took per batch",
            buckets=buckets,
            sum_value=m.latency_sum,
        )


class _Scrape(Collector):
    """One scrape: everything in the app's registry, then the gauges read for it."""

    def __init__(self, registry: CollectorRegistry, gauges: Mapping[str, float]) -> None:
        self._registry = registry
        self._gauges = gauges

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()
        for name, value in sorted(self._gauges.items()):
            yield GaugeMetricFamily(f"safestream_{name}", f"{name} at scrape time", value=value)


def _labelled(name: str, documentation: str, label: str, counts: Counter[str]) -> Metric:
    family = CounterMetricFamily(name, documentation, labels=[label])
    for value, count in sorted(counts.items()):
        family.add_metric([value], count)
    return family
