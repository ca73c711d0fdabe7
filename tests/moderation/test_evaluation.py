"""The held-out chat set and the evaluation: honest data, correct figures, no leaks."""

from __future__ import annotations

import builtins
import io
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from safestream.moderation.evaluation import report, sets
from safestream.moderation.training import examples

TINY_SHARED = "comment_text,labels\n" + "".join(
    f"{text},{label}\n"
    for text, label in [("you are a stupid idiot", 1), ("thanks for the edit", 0)] * 10
)


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def _runs(text: str, n: int = 5) -> set[tuple[str, ...]]:
    w = _words(text)
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


@pytest.mark.parametrize(("name", "lines"), [(sets.CHAT_FILE, 200), (sets.FRESH_CHAT_FILE, 100)])
def test_chat_sets_are_large_half_toxic_and_have_every_kind(name: str, lines: int) -> None:
    chat = sets.chat_set(name)
    assert len(chat.texts) >= lines
    assert 0.45 <= sum(chat.toxic) / len(chat.texts) <= 0.55
    assert set(chat.kinds) == set(sets.TOXIC_KINDS + sets.BENIGN_KINDS)
    present = {c for lab in chat.labels for c in lab}
    assert present >= {"threat", "identity_attack", "insult", "obscene", "severe_toxicity"}
    assert len(set(chat.texts)) == len(chat.texts)


@pytest.mark.parametrize("name", sets.CHAT_FILES)
def test_no_chat_set_line_shares_a_five_word_run_with_a_training_line(name: str) -> None:
    trained = [t for t, _ in examples.train_examples()]
    runs = set().union(*(_runs(t) for t in trained))
    lowered = {t.lower().strip() for t in trained}
    for text in sets.chat_set(name).texts:
        assert text.lower().strip() not in lowered, text
        assert not (_runs(text) & runs), text


def test_parse_refuses_a_toxic_kind_without_the_toxicity_label() -> None:
    with pytest.raises(ValueError, match="disagree"):
        sets.parse_chat_csv("text,kind,labels\nyou clown,insult,insult\n")
    with pytest.raises(ValueError, match="unknown categories"):
        sets.parse_chat_csv("text,kind,labels\nx,insult,toxicity rude\n")


def test_report_counts_the_confusion_fpr_and_kinds_at_the_threshold() -> None:
    s = sets.EvalSet(
        "t",
        ("a", "b", "c", "d"),
        (
            frozenset(),
            frozenset(),
            frozenset({"toxicity", "threat"}),
            frozenset({"toxicity", "insult"}),
        ),
        ("game", "banter", "threat", "insult"),
    )
    scores = [
        {"toxicity": 0.7},  # false positive
        {"toxicity": 0.1},
        {"toxicity": 0.6, "threat": 0.9},  # at the threshold counts as flagged
        {"toxicity": 0.59, "insult": 0.8},  # just below: missed
    ]
    r = report.evaluate_scores("m", s, scores, threshold=0.6)
    m = r.overall
    assert (m.tp, m.fp, m.fn, m.tn) == (1, 1, 1, 1)
    assert (m.recall, m.fpr, m.precision) == (0.5, 0.5, 0.5)
    assert r.caught == {"game": 1.0, "banter": 0.0, "threat": 1.0, "insult": 0.0}
    assert r.flagged_by_category["threat"] == 1.0 and r.flagged_by_category["insult"] == 0.0
    assert r.categories["insult"].recall == 1.0  # its own score is above the threshold
    t = report.targets(r)
    assert t["chat recall >= 0.9"] == (0.5, False)
    assert t["chat FPR <= 0.1"] == (0.5, False)


def test_roc_auc_is_nan_when_a_set_has_one_class() -> None:
    s = sets.EvalSet("t", ("a",), (frozenset(),), ("game",))
    r = report.evaluate_scores("m", s, [{"toxicity": 0.2}])
    assert math.isnan(r.overall.roc_auc)
    assert "n/a" in report.overall_table([r])


def test_write_section_replaces_only_between_its_markers(tmp_path: Path) -> None:
    doc = tmp_path / "m.md"
    doc.write_text("a\n<!-- eval:x -->\nold\n<!-- /eval:x -->\nb\n", encoding="utf-8")
    report.write_section(doc, "x", "new table")
    assert doc.read_text(encoding="utf-8") == "a\n<!-- eval:x -->\nnew table\n<!-- /eval:x -->\nb\n"
    with pytest.raises(ValueError, match="no <!-- eval:y -->"):
        report.write_section(doc, "y", "t")


@contextmanager
def opened_files() -> Iterator[list[str]]:
    """Every path opened for reading through open() while inside."""
    seen: list[str] = []
    real_open = builtins.open

    def spy(file: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(file))
        return real_open(file, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(builtins, "open", spy)
        mp.setattr(io, "open", spy)
        yield seen


def test_the_spy_sees_the_evaluation_set_being_read() -> None:
    with opened_files() as seen:
        sets.chat_set()
    assert any(p.endswith(sets.CHAT_FILE) for p in seen)


def test_training_and_retraining_never_read_the_evaluation_set(tmp_path: Path) -> None:
    from safestream.moderation.classifiers.chat_model import save_model, trained_tensors
    from safestream.moderation.training import finetune
    from safestream.moderation.training.rows import moderator_rows

    shared = tmp_path / "shared.csv"
    shared.write_text(TINY_SHARED, encoding="utf-8")
    with opened_files() as seen:
        rows = finetune.training_rows(shared, moderator_rows([("gg ez", False, frozenset())]))
        tiny = rows.take([i for i, s in enumerate(rows.source) if s != "chat"][:20])
        net = finetune.train_network(
            tiny, layers=1, epochs=1, negatives=5, chat_repeat=1, max_length=16, log=print
        )
        base = tmp_path / "base.npz"
        save_model(base, trained_tensors(net), {"layers": 1, "max_length": 16})
        finetune.refit_head(base, tmp_path / "refit.npz", tiny, steps=3, log=print)
    assert seen, "the spy saw nothing: it is not watching"
    assert not [p for p in seen if p.endswith(sets.CHAT_FILES)]
