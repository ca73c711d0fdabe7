"""Pure functions for the what-if views: replay results, shadow status, policy history
and the "why" of a message, turned into tables, short texts and safe HTML.

No I/O and no Panel here (tested without a server). User text only ever reaches HTML
through `html.escape`; tables show it as Tabulator plaintext cells.

Example:
    counts, changes = replay_counts(result), replay_changes(result)
    html = why_html("you idiot", why)     # the text, driving words in <mark>, the rule
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

__all__ = [
    "ACTIONS",
    "CHANGE_COLUMNS",
    "DISAGREEMENT_COLUMNS",
    "VERSION_COLUMNS",
    "disagreements_frame",
    "replay_changes",
    "replay_counts",
    "replay_summary",
    "shadow_summary",
    "versions_frame",
    "why_html",
    "why_text",
]

ACTIONS = ["allow", "mask", "hold", "timeout", "block"]
CHANGE_COLUMNS = ["seq", "time", "user", "message", "before", "after", "rule"]
DISAGREEMENT_COLUMNS = ["seq", "time", "user", "message", "active", "shadow", "shadow_rule"]
VERSION_COLUMNS = ["version", "created_at", "created_by", "source", "current"]


def _clock(ts: Any) -> str:
    try:
        return datetime.fromtimestamp(float(ts), UTC).strftime("%H:%M:%S")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def replay_counts(result: Mapping[str, Any]) -> pd.DataFrame:
    """Messages per action before and after (every action, mildest first)."""
    before, after = result.get("before") or {}, result.get("after") or {}
    rows = [
        {"action": a, "before": int(before.get(a, 0)), "after": int(after.get(a, 0))}
        for a in ACTIONS
    ]
    return pd.DataFrame(rows, columns=["action", "before", "after"])


def replay_changes(result: Mapping[str, Any]) -> pd.DataFrame:
    """The changed messages: seq, time, user, message, before, after, the rule after."""
    rows = [
        {
            "seq": int(c.get("seq") or 0),
            "time": _clock(c.get("ts")),
            "user": str(c.get("user", "")),
            "message": str(c.get("text", "")),
            "before": str((c.get("before") or {}).get("action", "")),
            "after": str((c.get("after") or {}).get("action", "")),
            "rule": str((c.get("after") or {}).get("rule", "")),
        }
        for c in result.get("changes") or []
    ]
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def replay_summary(result: Mapping[str, Any]) -> str:
    """One line: how many messages, how many change, who would be timed out."""
    scanned, changed = int(result.get("scanned") or 0), int(result.get("changed") or 0)
    window = result.get("window") or {}
    text = f"{scanned} messages replayed · {changed} would change"
    if window.get("truncated"):
        text += f" (newest {scanned} of {window.get('messages')})"
    if not result.get("complete", True):
        text += " · partial: the replay ran out of time"
    newly = [str(u) for u in result.get("newly_timed_out") or []]
    if newly:
        text += " · would time out " + ", ".join(newly)
    return html.escape(text)


def shadow_summary(status: Mapping[str, Any]) -> str:
    """ "No shadow policy", or its id, who attached it, decided and agreement."""
    if not status.get("attached"):
        return "No shadow policy on this room."
    decided, agreed = int(status.get("decided") or 0), int(status.get("agreed") or 0)
    agreement = status.get("agreement")
    rate = f"{100 * float(agreement):.0f} %" if agreement is not None else "n/a"
    text = (
        f"Shadow #{status.get('id')} by {status.get('attached_by')}: "
        f"agreement {rate} ({agreed} of {decided} messages) · "
        f"{_count(decided - agreed, 'disagreement')} · "
        f"active policy v{status.get('active_version')}"
    )
    return html.escape(text)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def disagreements_frame(status: Mapping[str, Any]) -> pd.DataFrame:
    rows = [
        {
            "seq": int(d.get("seq") or 0),
            "time": _clock(d.get("ts")),
            "user": str(d.get("user", "")),
            "message": str(d.get("text", "")),
            "active": str((d.get("active") or {}).get("action", "")),
            "shadow": str((d.get("shadow") or {}).get("action", "")),
            "shadow_rule": str((d.get("shadow") or {}).get("rule", "")),
        }
        for d in status.get("disagreements") or []
    ]
    return pd.DataFrame(rows, columns=DISAGREEMENT_COLUMNS)


def versions_frame(versions: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    rows = [
        {
            "version": int(v.get("version") or 0),
            "created_at": str(v.get("created_at") or "")[:19].replace("T", " "),
            "created_by": str(v.get("created_by") or ""),
            "source": str(v.get("source") or ""),
            "current": "●" if v.get("current") else "",
        }
        for v in versions
    ]
    return pd.DataFrame(rows, columns=VERSION_COLUMNS)


def why_text(why: Mapping[str, Any] | None) -> str:
    """The rule, as one line ("threat 0.91 ≥ hold 0.80, policy v7"), or ""."""
    if not why:
        return ""
    return str(why.get("text") or (why.get("rule") or {}).get("text") or "")


def why_html(text: str, why: Mapping[str, Any] | None) -> str:
    """The message with its driving words and blocked terms marked, then the rule,
    scores, flagged categories and drivers; everything escaped."""
    if not why:
        return f"<p>{html.escape(text)}</p><p><i>No explanation recorded.</i></p>"
    drivers = [str(d.get("word", "")) for d in why.get("drivers") or []]
    blocked = [str(t) for t in why.get("blocked_terms") or []]
    scores = why.get("scores") or {}
    top = sorted(scores.items(), key=lambda item: -float(item[1]))[:4]
    by = why.get("drivers_by") or ""
    source = {"model": "named by the model", "occlusion": "found by occlusion"}.get(by, "")
    weights = ", ".join(
        f"{html.escape(str(d.get('word')))} {float(d.get('weight') or 0):.2f}"
        for d in why.get("drivers") or []
    )
    lines = [
        f"<p class='why-text'>{_marked(text, drivers, blocked)}</p>",
        f"<p><b>Rule:</b> {html.escape(why_text(why))}</p>",
        "<p><b>Scores:</b> "
        + html.escape(", ".join(f"{name} {float(value):.2f}" for name, value in top))
        + "</p>",
    ]
    if why.get("flagged"):
        flagged = ", ".join(str(c) for c in why["flagged"])
        lines.append(f"<p><b>Over threshold:</b> {html.escape(flagged)}</p>")
    if blocked:
        lines.append(f"<p><b>Blocked terms:</b> {html.escape(', '.join(blocked))}</p>")
    if drivers:
        lines.append(f"<p><b>Driving words</b> ({source}): {weights}</p>")
    elif by == "occlusion":
        lines.append("<p><b>Driving words:</b> no single word drives the score</p>")
    else:
        lines.append("<p><b>Driving words:</b> not named by the model (explain to find them)</p>")
    return "\n".join(lines)


def _marked(text: str, drivers: Sequence[str], blocked: Sequence[str]) -> str:
    """`text` escaped, with whole-word matches of `drivers` and `blocked` in <mark>."""
    words = sorted({w for w in [*drivers, *blocked] if w}, key=len, reverse=True)
    if not words:
        return html.escape(text)
    pattern = re.compile(
        "|".join(rf"(?<!\w){re.escape(w)}(?!\w)" for w in words), flags=re.IGNORECASE
    )
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        kind = "blocked" if match.group(0).lower() in {b.lower() for b in blocked} else "driver"
        out.append(f"<mark class='why-{kind}'>{html.escape(match.group(0))}</mark>")
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)
