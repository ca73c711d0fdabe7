"""The per-room policy editor: load a room's policy, edit it, apply it live (PUT).

Thresholds and bands are editable tables; blocked terms one per line; the numbers and
modes are plain inputs. `dashboard.policy.build_policy` validates before sending; the
app validates again and bumps the version, which the editor then shows. Below the
editor, `WhatIfView` previews the edited values on the last hour before anything is
saved, runs them in shadow, and lists the room's versions for a rollback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn

from dashboard.client import ApiClient, ApiError
from dashboard.policy import ACTIONS, FAILURE_MODES, build_policy, policy_tables
from dashboard.whatif_view import WhatIfView

__all__ = ["PolicyView"]


class PolicyView:
    """Edit one room's moderation policy at a time."""

    def __init__(self, api: Callable[[], ApiClient], say: Callable[[bool, str], None]) -> None:
        self.api, self.say = api, say
        self.base: dict[str, Any] = {}
        self.room = pn.widgets.Select(name="Room", options=["main"], value="main", width=160)
        load = pn.widgets.Button(name="Load", align="end")
        load.on_click(self.load)
        save = pn.widgets.Button(name="Apply to room", button_type="primary", align="end")
        save.on_click(self.save)
        self.version = pn.widgets.StaticText(name="Version", value="-")
        self.thresholds = pn.widgets.Tabulator(
            pd.DataFrame(columns=["category", "threshold"]),
            show_index=False,
            editors={"threshold": {"type": "number", "min": 0, "max": 1, "step": 0.05}},
            height=200,
            width=320,
        )
        self.bands = pn.widgets.Tabulator(
            pd.DataFrame(columns=["category", "min_score", "action"]),
            show_index=False,
            editors={
                "min_score": {"type": "number", "min": 0, "max": 1, "step": 0.05},
                "action": {"type": "list", "values": ACTIONS},
            },
            height=200,
            width=420,
        )
        add_threshold = pn.widgets.Button(name="+ threshold", width=110)
        add_threshold.on_click(lambda _e: self._add(self.thresholds, ["category", 0.6]))
        add_band = pn.widgets.Button(name="+ band", width=110)
        add_band.on_click(lambda _e: self._add(self.bands, ["toxicity", 0.9, "hold"]))
        self.terms = pn.widgets.TextAreaInput(name="Blocked terms (one per line)", height=120)
        self.term_action = pn.widgets.Select(name="Blocked term action", options=ACTIONS)
        self.numbers = {
            "slow_mode_secs": pn.widgets.FloatInput(name="Slow mode (s)", start=0, value=0),
            "duplicate_window_secs": pn.widgets.FloatInput(name="Duplicate window (s)", start=0),
            "max_duplicates": pn.widgets.IntInput(name="Max duplicates", start=1, value=3),
            "timeout_secs": pn.widgets.FloatInput(name="Timeout (s)", start=0, value=300),
        }
        self.failure_mode = pn.widgets.Select(name="Model failure", options=FAILURE_MODES)
        self.whatif = WhatIfView(
            api, say, room=lambda: str(self.room.value), edited=self.edited, show=self.show
        )
        self.layout = pn.Column(
            pn.Row(self.room, load, save, self.version),
            pn.Row(
                pn.Column("**Thresholds** (flag as toxic)", self.thresholds, add_threshold),
                pn.Column("**Bands** (score → action)", self.bands, add_band),
            ),
            pn.Row(
                pn.Column(self.terms, self.term_action),
                pn.Column(*self.numbers.values(), self.failure_mode),
            ),
            self.whatif.layout,
            name="Policy",
        )

    def set_rooms(self, rooms: list[str]) -> None:
        options = sorted({"main", *rooms})
        if options != self.room.options:
            self.room.options = options

    @staticmethod
    def _add(table: pn.widgets.Tabulator, row: list[Any]) -> None:
        df = table.value
        table.value = pd.concat([df, pd.DataFrame([row], columns=df.columns)], ignore_index=True)

    def show(self, policy: dict[str, Any]) -> None:
        self.base = dict(policy)
        thresholds, bands = policy_tables(policy)
        self.thresholds.value = thresholds
        self.bands.value = bands
        self.terms.value = "\n".join(policy.get("blocked_terms") or [])
        self.term_action.value = policy.get("blocked_term_action", "mask")
        for name, widget in self.numbers.items():
            if name in policy:
                widget.value = policy[name]
        self.failure_mode.value = policy.get("failure_mode", "closed")
        self.version.value = str(policy.get("version", "-"))

    async def load(self, _event: object = None) -> None:
        async with self.api() as api:
            try:
                self.show(await api.policy(self.room.value))
            except ApiError as exc:
                self.say(False, f"policy: {exc.detail}")
                return
        await self.whatif.reload()

    def edited(self) -> dict[str, Any]:
        """The policy as edited now (not saved).

        Raises:
            ValueError, TypeError: a value the app would refuse (see `build_policy`).
        """
        return build_policy(
            self.base,
            self.thresholds.value,
            self.bands.value,
            self.terms.value or "",
            blocked_term_action=self.term_action.value,
            failure_mode=self.failure_mode.value,
            **{name: w.value for name, w in self.numbers.items()},
        )

    async def save(self, _event: object) -> None:
        try:
            policy = self.edited()
        except (ValueError, TypeError) as exc:
            self.say(False, f"policy not applied: {exc}")
            return
        async with self.api() as api:
            try:
                saved = await api.put_policy(self.room.value, policy)
            except ApiError as exc:
                self.say(False, f"policy not applied: {exc.detail}")
                return
        self.show(saved)
        self.say(True, f"policy v{saved.get('version')} applied to {self.room.value}")
        await self.whatif.reload()
