"""The "Model" tab: moderators label messages for the model; admins retrain and roll back.

Everyone with the moderator role can mark a stored message (by id, as shown in the
Messages and Held tabs) or a free text as toxic / not toxic, and sees the labels and the
live model version. Admins (`set_admin(True)`) also get "Retrain now" (the app retrains
in the background, evaluates on its held-out sets and swaps the live model only when it
is not worse; "Refresh" shows how it went) and "Roll back" (the previous version).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn

from dashboard.client import ApiClient, ApiError

__all__ = ["ModelView", "labels_frame", "status_text"]

LABEL_COLUMNS = ["created_at", "actor", "source", "toxic", "model_score", "text"]


def labels_frame(labels: list[dict[str, Any]]) -> pd.DataFrame:
    """The labels table, newest first, as the app sent them."""
    return pd.DataFrame(
        [{c: lab.get(c) for c in LABEL_COLUMNS} for lab in labels], columns=LABEL_COLUMNS
    )


def status_text(status: dict[str, Any]) -> str:
    """One Markdown paragraph for the trainer's status."""
    parts = [
        f"**Live model**: `{status.get('live_version', '?')}`",
        f"previous: `{status.get('previous_version') or '-'}`",
        f"last retrain: **{status.get('state', '?')}**",
    ]
    if status.get("reason"):
        parts.append(str(status["reason"]))
    if status.get("error"):
        parts.append(f"error: {status['error']}")
    for key in ("before", "after"):
        if status.get(key):
            figures = ", ".join(f"{k} {v}" for k, v in status[key].items())
            parts.append(f"{key}: {figures}")
    return " · ".join(parts)


class ModelView:
    """Labels for everyone with the moderator role; retrain / roll back for admins."""

    def __init__(
        self, api: Callable[[], ApiClient] | None, say: Callable[[bool, str], None]
    ) -> None:
        self.api, self.say = api, say
        self.status = pn.pane.Markdown("", width=900)
        refresh = pn.widgets.Button(label="Refresh", align="end")
        refresh.on_click(self.refresh)
        self.retrain_button = pn.widgets.Button(label="Retrain now", color="primary")
        self.retrain_button.on_click(self.retrain)
        self.rollback_button = pn.widgets.Button(label="Roll back", color="warning")
        self.rollback_button.on_click(self.rollback)
        self.admin_controls = pn.Row(self.retrain_button, self.rollback_button, visible=False)
        self.message_id = pn.widgets.TextInput(label="Message id", width=260)
        self.text = pn.widgets.TextInput(label="…or a text", width=420)
        toxic = pn.widgets.Button(label="Mark toxic", color="danger", align="end")
        toxic.on_click(lambda _e: self._mark(True))
        ok = pn.widgets.Button(label="Mark not toxic", color="success", align="end")
        ok.on_click(lambda _e: self._mark(False))
        self.counts = pn.widgets.StaticText(label="Labels", value="-")
        self.labels = pn.widgets.Tabulator(
            labels_frame([]), show_index=False, disabled=True, height=320, width=1000
        )
        self.layout = pn.Column(
            pn.Row(self.status, refresh),
            self.admin_controls,
            pn.Row(self.message_id, self.text, toxic, ok),
            self.counts,
            self.labels,
            name="Model",
        )

    def set_admin(self, admin: bool) -> None:
        """Show retrain and rollback to admins only (the app checks the role again)."""
        self.admin_controls.visible = admin and self.api is not None

    async def refresh(self, _event: object = None) -> None:
        if self.api is None:
            return
        async with self.api() as api:
            try:
                self.status.object = status_text(await api.model_status())
                labels = await api.model_labels()
            except ApiError as exc:
                self.say(False, f"model: {exc.detail}")
                return
        self.labels.value = labels_frame(list(labels.get("labels", [])))
        counts = labels.get("counts", {})
        self.counts.value = (
            f"{counts.get('total', 0)} ({counts.get('toxic', 0)} toxic, "
            f"{counts.get('not_toxic', 0)} not toxic)"
        )

    async def retrain(self, _event: object = None) -> None:
        await self._admin_call("retrain_model", "retrain started; Refresh shows how it went")

    async def rollback(self, _event: object = None) -> None:
        await self._admin_call("rollback_model", "rolled back to the previous model")

    async def _admin_call(self, method: str, done: str) -> None:
        if self.api is None:
            return
        async with self.api() as api:
            try:
                status = await getattr(api, method)()
            except ApiError as exc:
                self.say(False, f"model: {exc.detail}")
                return
        self.status.object = status_text(status)
        self.say(True, done)

    async def _mark(self, toxic: bool) -> None:
        if self.api is None:
            return
        message_id = (self.message_id.value or "").strip()
        text = (self.text.value or "").strip()
        if not message_id and not text:
            self.say(False, "give a message id or a text to label")
            return
        async with self.api() as api:
            try:
                await api.mark(toxic, message_id=message_id, text=text)
            except ApiError as exc:
                self.say(False, f"label not stored: {exc.detail}")
                return
        self.message_id.value = self.text.value = ""
        self.say(True, "label stored" + (" (toxic)" if toxic else " (not toxic)"))
        await self.refresh()
