"""`/metrics` over several nodes: counts add up, key by key, with each node's own document."""

from safestream.cluster.agent import cluster_document


def node_document(node: str, viewers: int, refused: dict[str, int], busy: dict[str, int]) -> dict:
    return {
        "node": node,
        "viewer_count": viewers,
        "gift_count": 1,
        "messages_total": 10,
        "toxic_total": 1,
        "slow_consumers": 0,
        "rooms": 2,
        "actions": {"allow": 9, "mask": 1},
        "refused": refused,
        "overload": {"room_busy": busy, "shed": {}},
    }


def test_counts_by_key_and_the_overload_section_are_cluster_totals() -> None:
    own = node_document("a", 3, {"room_busy": 2}, {"delivery": 2})
    other = node_document("b", 4, {"room_busy": 1, "muted": 5}, {"pipeline": 1})
    total = cluster_document(own, {"b": {"metrics": other}})
    assert total["viewer_count"] == 7
    assert total["refused"] == {"room_busy": 3, "muted": 5}
    assert total["actions"] == {"allow": 18, "mask": 2}
    assert total["overload"] == {"room_busy": {"delivery": 2, "pipeline": 1}, "shed": {}}
    assert total["toxic_pct"] == 10.0
    assert total["nodes"]["b"] == other


def test_a_node_of_an_older_version_without_the_overload_section_counts_as_zero() -> None:
    own = node_document("a", 1, {}, {"queue": 1})
    older = {"node": "b", "viewer_count": 2}
    total = cluster_document(own, {"b": {"metrics": older}})
    assert total["viewer_count"] == 3
    assert total["overload"]["room_busy"] == {"queue": 1}
