"""The "why" pane under the messages table: why the selected message was decided so.

It shows the message as sent with its driving words (and blocked terms) highlighted,
the rule that fired in the policy version that applied, the top scores and the
categories over their threshold. When the model did not name the words, "Explain
words" asks the app to find them by occlusion (`POST /api/admin/messages/<id>/explain`);
held and blocked messages are explained by the app on its own, and their `why` event
updates the pane if it shows that message. Text reaches the page only escaped
(`dashboard.whatif.why_html`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import panel as pn

from dashboard.client import ApiClient, ApiError
from dashboard.whatif import why_html

__all__ = ["WhyPane"]

EMPTY = "<i>Select a message to see why it was decided so.</i>"
# Panel renders each pane in its own shadow root: the pane brings its own stylesheet.
STYLE = """
mark.why-driver { background: #ff0050; color: #fff; padding: 0 3px; border-radius: 3px; }
mark.why-blocked { background: #f39c12; color: #000; padding: 0 3px; border-radius: 3px; }
.why-text { font-size: 1.3em; }
"""


class WhyPane:
    """The explanation of one message; `on_explained(id, why)` when the app found more."""

    def __init__(
        self,
        api: Callable[[], ApiClient],
        say: Callable[[bool, str], None],
        on_explained: Callable[[str, dict[str, Any]], None],
    ) -> None:
        self.api, self.say, self.on_explained = api, say, on_explained
        self.message_id: str | None = None
        self.text = ""
        self.html = pn.pane.HTML(
            EMPTY, css_classes=["why-pane"], stylesheets=[STYLE], sizing_mode="stretch_width"
        )
        self.explain = pn.widgets.Button(name="Explain words", disabled=True, width=160)
        self.explain.on_click(self._explain)
        self.layout = pn.Column(
            pn.pane.Markdown("**Why**"), self.html, self.explain, sizing_mode="stretch_width"
        )

    def show(
        self, message_id: str | None, text: str = "", why: Mapping[str, Any] | None = None
    ) -> None:
        self.message_id, self.text = message_id, text
        if message_id is None:
            self.html.object = EMPTY
            self.explain.disabled = True
            return
        self.html.object = why_html(text, why)
        by = (why or {}).get("drivers_by")
        self.explain.disabled = not why or by == "model" or not (why or {}).get("scores")

    def update(self, message_id: str, why: Mapping[str, Any]) -> None:
        """A newer explanation arrived (live): redraw if it is the one shown."""
        if message_id == self.message_id:
            self.show(message_id, self.text, why)

    async def _explain(self, _event: object) -> None:
        message_id = self.message_id
        if message_id is None:
            return
        async with self.api() as api:
            try:
                answer = await api.explain(message_id)
            except ApiError as exc:
                self.say(False, f"explain: {exc.detail}")
                return
        why = dict(answer.get("why") or {})
        self.on_explained(message_id, why)
        self.update(message_id, why)
        words = ", ".join(str(d.get("word")) for d in why.get("drivers") or []) or "none"
        self.say(True, f"driving words: {words}")
