"""The model fault switch: on for a while, then off; a FaultyModel fails only while on."""

from __future__ import annotations

from pathlib import Path

import pytest

from safestream import node
from safestream.moderation.classifiers import KeywordClassifier
from safestream.moderation.faults import (
    MAX_FAULT_SECS,
    FaultyModel,
    InjectedModelFailure,
    ModelFaultSwitch,
)
from safestream.settings import Settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_fault_lasts_its_seconds_then_the_model_answers_again() -> None:
    clock = FakeClock()
    switch = ModelFaultSwitch(clock)
    model = FaultyModel(KeywordClassifier(), switch)
    assert model.name == "keyword"
    assert [s.top for s in model.predict(["gg"])] == [0.0]
    assert switch.fail_for(5.0) == 5.0
    with pytest.raises(InjectedModelFailure):
        model.predict(["gg"])
    clock.now += 4.9
    assert switch.failing
    clock.now += 0.1
    assert not switch.failing and switch.remaining == 0
    assert [s.top for s in model.predict(["gg"])] == [0.0]


def test_zero_seconds_ends_a_fault_early() -> None:
    switch = ModelFaultSwitch(FakeClock())
    switch.fail_for(60)
    assert switch.fail_for(0) == 0 and not switch.failing


@pytest.mark.parametrize("seconds", [-1.0, MAX_FAULT_SECS + 1, float("nan")])
def test_seconds_outside_0_to_max_are_refused(seconds: float) -> None:
    with pytest.raises(ValueError, match="seconds must be between"):
        ModelFaultSwitch(FakeClock()).fail_for(seconds)


def test_a_model_swapped_in_later_answers_to_the_same_switch(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A retrained or rolled-back model replaces the first one: fault injection must keep
    # reaching the live model (node._load_for_swap wraps it as NodeParts wraps the first).
    monkeypatch.setattr(node, "load_model", lambda settings, path: KeywordClassifier())
    settings = Settings(mode="demo", jwt_secret_key="k" * 40, data_dir=str(tmp_path))
    clock = FakeClock()
    switch = ModelFaultSwitch(clock)
    swapped = node._load_for_swap(settings, switch)(tmp_path / "v2")
    switch.fail_for(5.0)
    with pytest.raises(InjectedModelFailure):
        swapped.predict(["gg"])
    without = node._load_for_swap(settings, None)(tmp_path / "v2")
    assert isinstance(without, KeywordClassifier)
