"""Metrics: plain counters, exposed through the app's own Prometheus registry."""

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from safestream.metrics import LATENCY_BUCKETS, Metrics

COUNTERS = (
    "safestream_messages_total",
    "safestream_toxic_messages_total",
    "safestream_gifts_total",
    "safestream_slow_consumers_total",
    "safestream_moderation_failures_total",
    "safestream_moderation_unscored_total",
)


def scrape(metrics: Metrics, **gauges: float) -> dict[str, float]:
    """Every sample of one scrape, keyed `name{label="value",...}` as Prometheus shows it."""
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics.exposition(gauges).decode()):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return values


def types(metrics: Metrics, **gauges: float) -> dict[str, str]:
    families = text_string_to_metric_families(metrics.exposition(gauges).decode())
    return {family.name: family.type for family in families}


def observed() -> Metrics:
    metrics = Metrics()
    metrics.observe_message(toxic=True, action="mask")
    metrics.observe_message(toxic=False, action="allow")
    metrics.observe_message(toxic=False, action="allow")
    metrics.gift_count += 4
    metrics.slow_consumers += 1
    metrics.moderation_failures += 2
    metrics.moderation_unscored += 3
    metrics.refused["rate_limited"] += 5
    metrics.observe_moderation(0.004, batch=8)
    metrics.observe_moderation(0.02, batch=2)
    metrics.observe_moderation(9.0, batch=1)
    return metrics


def test_counters_are_exposed_under_their_names() -> None:
    values = scrape(observed())
    assert [values[name] for name in COUNTERS] == [3, 1, 4, 1, 2, 3]


def test_metric_types_are_counters_a_histogram_and_gauges() -> None:
    kinds = types(observed(), viewers=2)
    assert {kinds[name.removesuffix("_total")] for name in COUNTERS} == {"counter"}
    assert kinds["safestream_decisions"] == kinds["safestream_refused"] == "counter"
    assert kinds["safestream_moderation_latency_seconds"] == "histogram"
    assert kinds["safestream_viewers"] == "gauge"


def test_decisions_are_labelled_by_action_and_refusals_by_reason() -> None:
    values = scrape(observed())
    assert values['safestream_decisions_total{action="allow"}'] == 2
    assert values['safestream_decisions_total{action="mask"}'] == 1
    assert values['safestream_refused_total{reason="rate_limited"}'] == 5


def test_latency_histogram_is_cumulative_up_to_inf_with_count_and_sum() -> None:
    values = scrape(observed())
    bucket = 'safestream_moderation_latency_seconds_bucket{{le="{}"}}'.format
    assert values[bucket("0.0025")] == 0
    assert values[bucket("0.005")] == 1
    assert values[bucket("0.025")] == 2
    assert values[bucket("2.5")] == 2
    assert values[bucket("+Inf")] == 3
    assert values["safestream_moderation_latency_seconds_count"] == 3
    assert values["safestream_moderation_latency_seconds_sum"] == pytest.approx(9.024)


def test_a_latency_equal_to_a_bound_counts_in_that_bound_bucket() -> None:
    metrics = Metrics()
    metrics.observe_moderation(LATENCY_BUCKETS[0], batch=1)
    values = scrape(metrics)
    assert values[f'safestream_moderation_latency_seconds_bucket{{le="{LATENCY_BUCKETS[0]}"}}'] == 1


def test_gauges_given_to_a_scrape_are_exposed_with_the_safestream_prefix() -> None:
    values = scrape(Metrics(), viewers=3, mailbox_depth_max=7.5)
    assert values["safestream_viewers"] == 3
    assert values["safestream_mailbox_depth_max"] == 7.5
    assert "safestream_viewers" not in scrape(Metrics())


def test_counts_made_after_a_scrape_show_in_the_next_scrape() -> None:
    metrics = Metrics()
    assert scrape(metrics)["safestream_messages_total"] == 0
    metrics.observe_message(toxic=False, action="allow")
    assert scrape(metrics)["safestream_messages_total"] == 1


def test_reset_zeroes_every_exposed_value() -> None:
    metrics = observed()
    registry = metrics.registry
    metrics.reset()
    values = scrape(metrics)
    assert all(value == 0 for value in values.values())
    assert not [name for name in values if "{" in name and "_bucket" not in name]
    assert metrics.registry is registry
    assert metrics.toxic_pct == 0.0


def test_each_app_has_its_own_registry_and_the_global_one_is_untouched() -> None:
    first, second = observed(), Metrics()
    assert first.registry is not second.registry
    assert scrape(second)["safestream_messages_total"] == 0
    assert REGISTRY.get_sample_value("safestream_messages_total") is None


def test_the_share_of_texts_detoxify_saw_is_in_the_document_and_the_exposition() -> None:
    metrics = Metrics()
    metrics.observe_moderation(0.01, batch=8, escalated=2)
    metrics.observe_moderation(0.01, batch=2)
    moderation = metrics.document(viewers=0, rooms=0, model="m")["moderation"]
    assert (moderation["escalated"], moderation["escalated_share"]) == (2, 0.2)
    values = scrape(metrics)
    assert values["safestream_moderation_escalated_total"] == 2
    assert values["safestream_moderation_texts_total"] == 10
    assert values["safestream_moderation_escalated_ratio"] == pytest.approx(0.2)


def test_overload_is_counted_by_cause_and_kind_in_the_document_and_the_exposition() -> None:
    metrics = Metrics()
    metrics.room_busy["delivery"] += 2
    metrics.shed["presence"] += 3
    document = metrics.document(viewers=0, rooms=1, model="keyword")
    assert document["overload"] == {"room_busy": {"delivery": 2}, "shed": {"presence": 3}}
    values = scrape(metrics)
    assert values['safestream_room_busy_total{cause="delivery"}'] == 2
    assert values['safestream_shed_frames_total{kind="presence"}'] == 3
