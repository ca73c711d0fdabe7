"""A room's moderation policy <-> the editor's tables and fields (pure, validated).

The policy JSON is the app's (`GET/PUT /api/admin/rooms/<room>/policy`): version,
thresholds per category, bands of (category, min_score, action), blocked terms and their
action, slow mode, duplicate limits, timeout and failure mode. The editor shows the
thresholds and bands as editable tables; `build_policy` turns the edited values back into
JSON and rejects bad values before anything is sent.

Example:
    thresholds, bands = policy_tables(policy)
    new = build_policy(policy, thresholds, bands, "spam\\nscam", slow_mode_secs=2)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from safestream.moderation import policy as policy_types
from safestream.moderation.policy import Action

__all__ = ["ACTIONS", "FAILURE_MODES", "NUMERIC_FIELDS", "build_policy", "policy_tables"]

ACTIONS = [action.value for action in Action]  # mildest first, as the app decides
FAILURE_MODES = list(policy_types.FAILURE_MODES)
NUMERIC_FIELDS = {
    "slow_mode_secs": float,
    "duplicate_window_secs": float,
    "max_duplicates": int,
    "timeout_secs": float,
}


def policy_tables(policy: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(thresholds: category, threshold) and (bands: category, min_score, action)."""
    thresholds = pd.DataFrame(
        [
            {"category": str(k), "threshold": float(v)}
            for k, v in (policy.get("thresholds") or {}).items()
        ],
        columns=["category", "threshold"],
    )
    bands = pd.DataFrame(
        [
            {
                "category": str(b.get("category", "")),
                "min_score": float(b.get("min_score") or 0.0),
                "action": str(b.get("action", "")),
            }
            for b in policy.get("bands") or []
        ],
        columns=["category", "min_score", "action"],
    )
    return thresholds, bands


def build_policy(
    base: Mapping[str, Any],
    thresholds: pd.DataFrame,
    bands: pd.DataFrame,
    blocked_terms: str,
    **fields: Any,
) -> dict[str, Any]:
    """A new policy: `base` with the edited tables, terms (one per line) and fields.

    Raises:
        ValueError: a score outside 0..1, an unknown action or failure mode, a negative
            number, or an empty category.
    """
    policy = dict(base)
    policy["thresholds"] = {
        _category(row["category"]): _score(row["threshold"], "threshold")
        for row in thresholds.to_dict("records")
    }
    policy["bands"] = [
        {
            "category": _category(row["category"]),
            "min_score": _score(row["min_score"], "min_score"),
            "action": _action(row["action"]),
        }
        for row in bands.to_dict("records")
    ]
    policy["blocked_terms"] = [t.strip() for t in blocked_terms.splitlines() if t.strip()]
    for name, value in fields.items():
        if name in NUMERIC_FIELDS:
            number = NUMERIC_FIELDS[name](value)
            if number < 0:
                raise ValueError(f"{name} must not be negative")
            policy[name] = number
        elif name == "blocked_term_action":
            policy[name] = _action(value)
        elif name == "failure_mode":
            if value not in FAILURE_MODES:
                raise ValueError(f"failure_mode must be one of {FAILURE_MODES}")
            policy[name] = value
        else:
            raise ValueError(f"unknown policy field {name!r}")
    return policy


def _category(value: Any) -> str:
    text = str(value or "").strip()
    if not text:
        raise ValueError("every row needs a category")
    return text


def _score(value: Any, name: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, not {number}")
    return number


def _action(value: Any) -> str:
    if value not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, not {value!r}")
    return str(value)
