"""The overview says what the chat turned away lately: a "Refused busy/s" card and a
plain-text line (refused posts by cause, viewers cut, updates skipped) that shows only
while there is something to say. No browser: the session's objects are read."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.app import Dashboard


def sample(busy: dict[str, int], cut: int = 0) -> dict[str, Any]:
    return {"messages_total": 0, "slow_consumers": cut, "overload": {"room_busy": busy}}


# Building a whole session runs Panel code that uses what Panel 2.0 and pandas 4 drop
# (`name=` on widgets, `inplace=`): deprecations of the libraries, not failures here.
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning", "ignore::DeprecationWarning")
def test_the_overview_shows_refusals_while_there_are_any() -> None:
    board = Dashboard("http://127.0.0.1:9")
    board._metrics(0.0, sample({}))
    board._metrics(1.0, sample({}))
    assert not board.overload.visible and board.cards["busy"].value == 0.0
    board._metrics(2.0, sample({"elsewhere": 6, "<b>new</b>": 2}, cut=1))
    assert board.cards["busy"].value == pytest.approx(4.0)  # 8 refusals in 2 s
    assert board.overload.visible
    assert board.overload.object == (
        "Last 2 s: The chat refused 8 posts as busy (delivery to viewers on another node is"
        " behind: 6; <b>new</b>: 2). 1 viewer cut off as too slow."
    )
    assert type(board.overload).__name__ == "Str"  # shown as text: no markup is rendered
    for t in range(3, 40):  # 30 s later nothing more was refused
        board._metrics(float(t), sample({"elsewhere": 6, "<b>new</b>": 2}, cut=1))
    assert not board.overload.visible and board.cards["busy"].value == 0.0
