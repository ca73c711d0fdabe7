"""The model routes of the OpenAPI document (`/api/model/*`): labels, retrain, rollback."""

from __future__ import annotations

from safestream.store.records import LABEL_CATEGORIES
from safestream.web.openapi._base import (
    MESSAGE_PARAM,
    Json,
    _arr,
    _i,
    _json,
    _json_body,
    _limit,
    _n,
    _nullable,
    _obj,
    _op,
    _query,
    _s,
)

_CATEGORIES = _arr(_s(enum=sorted(LABEL_CATEGORIES)), description="named by a toxic mark")
_LABEL = _obj(
    ["id", "text", "toxic", "source", "actor", "created_at"],
    id=_i(),
    message_id=_nullable(_s()),
    room=_nullable(_s()),
    text=_s(),
    toxic=_s("true or false", type="boolean"),
    categories=_CATEGORIES,
    source=_s("approve, delete, timeout or mark"),
    actor=_s("the moderator who decided"),
    model_toxic=_nullable(_s("what the model said", type="boolean")),
    model_score=_nullable(_n()),
    created_at=_s(format="date-time"),
)
_STATUS = _obj(
    ["state", "live_version"],
    additional=True,
    state=_s("idle, running, kept, rejected, failed or rolled_back"),
    live_version=_s("bundled, or chat-<UTC timestamp>"),
    previous_version=_nullable(_s()),
    reason=_s(),
    error=_s(),
    before=_obj(additional=_n()),
    after=_obj(additional=_n()),
)
_MARK = _obj(
    ["toxic"],
    toxic=_s("the moderator's verdict", type="boolean"),
    categories=_CATEGORIES,
)


def model_operations() -> dict[str, dict[str, Json]]:
    """Every `/api/model/*` route."""
    return {
        "/api/model/messages/{message_id}/label": {
            "post": _op(
                "moderation",
                "Mark a stored message toxic / not toxic for the model",
                role="moderator",
                params=[MESSAGE_PARAM],
                body=_json_body(_MARK),
                ok=_json(_LABEL),
                description="Stored as a label with who decided; a later mark replaces it.",
                errors={404: ["message_not_found"], 422: ["invalid_request"]},
            )
        },
        "/api/model/labels": {
            "post": _op(
                "moderation",
                "Mark a text toxic / not toxic for the model",
                role="moderator",
                body=_json_body(
                    _obj(["text", "toxic"], text=_s(maxLength=2000), **_MARK["properties"])
                ),
                ok=_json(_LABEL),
                errors={422: ["invalid_request"]},
            ),
            "get": _op(
                "moderation",
                "Moderators' labels, newest first, and counts",
                role="moderator",
                params=[_limit(100, 500), _query("before", _i(), "only labels with a lower id")],
                ok=_json(
                    _obj(["labels", "counts"], labels=_arr(_LABEL), counts=_obj(additional=_i()))
                ),
            ),
        },
        "/api/model/status": {
            "get": _op(
                "moderation",
                "Live model version, previous version, last retrain",
                role="moderator",
                ok=_json(_STATUS),
                errors={503: ["trainer_unavailable"]},
            )
        },
        "/api/model/retrain": {
            "post": _op(
                "moderation",
                "Retrain the model on shipped data plus moderators' labels",
                role="admin",
                ok=_json(_STATUS),
                description="Starts in the background (poll the status). The candidate is "
                "evaluated on the held-out sets and swapped in without a restart only when "
                "it is not worse.",
                errors={503: ["trainer_unavailable"]},
            )
        },
        "/api/model/rollback": {
            "post": _op(
                "moderation",
                "Make the previous model version live again",
                role="admin",
                ok=_json(_STATUS),
                errors={409: ["model_unchanged"], 503: ["trainer_unavailable"]},
            )
        },
    }
