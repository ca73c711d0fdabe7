"""Bodies and answers of the what-if routes: replay, shadow policies, history, why.

A candidate policy is given either as the editor's unsaved values (`policy`, the same
document `PUT .../policy` takes) or as a stored version (`version`), never both. A
replay window is exactly one of `since_secs` (the last N seconds), `since` (and
optionally `until`, ISO 8601 with a time zone) or `last` (the newest N messages).
Bounds that depend on settings (REPLAY_MAX_WINDOW_SECS, REPLAY_MAX_MESSAGES) are checked
by the route and answered 422 naming the field, like these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator

from safestream.web.models.base import Body, Query, Reason, Response
from safestream.web.models.requests import PolicyUpdate

__all__ = [
    "MessageWhy",
    "PolicyVersionEntry",
    "PolicyVersions",
    "ReplayChange",
    "ReplayOutcome",
    "ReplayPage",
    "ReplayRequest",
    "ReplayResult",
    "ReplayWindow",
    "RollbackRequest",
    "ShadowCell",
    "ShadowDisagreement",
    "ShadowEnded",
    "ShadowQuery",
    "ShadowRequest",
    "ShadowStatus",
    "VersionsQuery",
]

MAX_VERSION = 2**31 - 1
MAX_ROWS = 1_000_000  # a schema bound only; REPLAY_MAX_MESSAGES is the real one


def _one_candidate(version: int | None, info: ValidationInfo) -> int | None:
    if "policy" not in info.data:
        return version  # the policy itself was refused: that is the error to report
    if (version is None) == (info.data["policy"] is None):
        raise ValueError("give either policy (unsaved values) or version (a stored one)")
    return version


class Candidate(Body):
    """A candidate policy: unsaved values, or a stored version."""

    model_config = Body.model_config | {"extra": "forbid"}

    policy: PolicyUpdate | None = Field(
        None, description="the editor's unsaved values (omitted fields take their defaults)"
    )
    version: int | None = Field(
        None, ge=1, le=MAX_VERSION, validate_default=True, description="or a stored version"
    )

    _candidate = field_validator("version")(_one_candidate)


class ShadowRequest(Candidate):
    """The policy to run in shadow: every live message is also decided by it."""


class ReplayRequest(Candidate):
    """A candidate policy and a window of the room's stored messages to replay it on."""

    since_secs: float | None = Field(
        None, gt=0, description="the last N seconds (at most REPLAY_MAX_WINDOW_SECS)"
    )
    since: AwareDatetime | None = Field(
        None, strict=False, description="window start, ISO 8601 with a time zone"
    )
    until: AwareDatetime | None = Field(
        None, strict=False, description="window end (default: now); only with since"
    )
    last: int | None = Field(
        None,
        ge=1,
        le=MAX_ROWS,
        validate_default=True,
        description="or the newest N messages (at most REPLAY_MAX_MESSAGES)",
    )
    rescore: bool = Field(
        False,
        description="score the messages again with the model the pool runs now (bounded by "
        "REPLAY_RESCORE_MAX_MESSAGES; live moderation goes first)",
    )

    @field_validator("until")
    @classmethod
    def _until_after_since(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if until is not None and "since" in info.data and (since is None or until <= since):
            raise ValueError("until must come with since, and after it")
        return until

    @field_validator("last")
    @classmethod
    def _one_window(cls, last: int | None, info: ValidationInfo) -> int | None:
        if not {"since_secs", "since", "until"} <= set(info.data):
            return last  # a window field itself was refused: that is the error to report
        given = [name for name in ("since_secs", "since") if info.data.get(name) is not None]
        if last is not None:
            given.append("last")
        if len(given) != 1:
            raise ValueError("give exactly one of since_secs, since or last")
        return last


class ReplayPage(Query):
    offset: int = Field(0, ge=0, le=MAX_ROWS, description="changes to skip")
    limit: int = Field(50, ge=1, le=500, description="changes to answer")


class ShadowQuery(Query):
    limit: int = Field(50, ge=1, le=500, description="disagreements to answer, newest first")
    before_seq: int | None = Field(None, ge=1, le=2**62, description="older than this seq")


class VersionsQuery(Query):
    limit: int = Field(50, ge=1, le=500, description="how many at most, newest first")
    before: int | None = Field(None, ge=1, le=MAX_VERSION, description="only older versions")


class RollbackRequest(Body):
    """Restore a stored version: it is saved again as the next version."""

    model_config = Body.model_config | {"extra": "forbid"}

    version: int = Field(ge=1, le=MAX_VERSION, description="the version to restore")
    reason: Reason = ""


# -- answers -----------------------------------------------------------------------------


class ReplayOutcome(Response):
    action: str = Field(description="allow, mask, hold, timeout or block")
    rule: str = Field(description='why, e.g. "threat 0.91 ≥ hold 0.80, policy v7"')
    policy_version: int


class ReplayChange(Response):
    """A message the candidate would have treated differently."""

    id: str
    seq: int
    ts: float = Field(description="epoch seconds")
    user: str
    text: str
    scores: dict[str, float]
    before: ReplayOutcome
    after: ReplayOutcome
    rescored: bool


class ReplayWindow(Response):
    since: float | None = Field(description="epoch seconds (null: from the first of `last`)")
    until: float | None
    last: int | None
    messages: int = Field(ge=0, description="messages the window holds")
    truncated: bool = Field(description="more than REPLAY_MAX_MESSAGES: the newest replayed")


class ReplayResult(Response):
    """What the candidate would have done, compared with what happened."""

    room: str
    candidate: str = Field(description='"unsaved" or the stored version, e.g. "v3"')
    policy: dict[str, Any]
    window: ReplayWindow
    scanned: int = Field(ge=0)
    changed: int = Field(ge=0)
    unscored: int = Field(ge=0, description="stored without scores: failure mode applied")
    rescored: bool
    complete: bool = Field(description="false: REPLAY_TIMEOUT_SECS ran out; counts are partial")
    first_ts: float | None
    last_ts: float | None
    before: dict[str, int] = Field(description="messages per action, as it happened")
    after: dict[str, int] = Field(description="messages per action under the candidate")
    timed_out_before: list[str]
    timed_out_after: list[str]
    newly_timed_out: list[str]
    offset: int
    limit: int
    changes: list[ReplayChange] = Field(description="ascending seq; page offset/limit")


class ShadowCell(Response):
    active: str
    shadow: str
    messages: int = Field(ge=0)


class ShadowDisagreement(Response):
    id: str
    seq: int
    ts: float
    user: str
    text: str
    scores: dict[str, float]
    active: ReplayOutcome
    shadow: ReplayOutcome


class ShadowStatus(Response):
    """A room's shadow policy and how often it agrees with the active one."""

    room: str
    attached: bool
    id: int | None = None
    policy: dict[str, Any] | None = None
    attached_by: str | None = None
    attached_at: datetime | None = None
    active_version: int
    decided: int = Field(0, ge=0)
    agreed: int = Field(0, ge=0)
    agreement: float | None = Field(None, ge=0, le=1, description="agreed / decided")
    tally: list[ShadowCell] = Field(default_factory=list)
    disagreements: list[ShadowDisagreement] = Field(default_factory=list)


class ShadowEnded(Response):
    """The shadow was promoted (`version`: the new active policy) or dropped."""

    room: str
    id: int
    outcome: str
    version: int | None = None
    policy: dict[str, Any] | None = None


class PolicyVersionEntry(Response):
    version: int
    created_at: datetime | None
    created_by: str | None
    source: str = Field(description='"edit", "rollback to v3", "promoted shadow #5", ...')
    current: bool
    policy: dict[str, Any]


class PolicyVersions(Response):
    """A room's saved policies, newest first."""

    room: str
    current: int
    versions: list[PolicyVersionEntry]


class MessageWhy(Response):
    """Why a message was decided as it was (see docs/moderation.md)."""

    id: str
    room: str
    action: str
    status: str
    policy_version: int
    why: dict[str, Any] | None = Field(description="rule, scores, flagged, blocked_terms, drivers")
