"""The component schemas of the OpenAPI document (bounds taken from the code)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safestream.chat.gifts import GIFT_CATALOGUE, MAX_AMOUNT
from safestream.moderation.policy import ACTIONS, FAILURE_MODES
from safestream.web.openapi._base import (
    ROLES,
    ROOM_PATTERN,
    Json,
    _arr,
    _i,
    _n,
    _nullable,
    _obj,
    _s,
    ref,
)
from safestream.web.routes.admin import DEFAULT_MUTE_SECS, MAX_REASON, MAX_SANCTION_SECS
from safestream.web.routes.auth import MAX_EMAIL_LENGTH

if TYPE_CHECKING:
    from safestream.settings import Settings


def schemas(settings: Settings) -> Json:
    count = _i(minimum=0)
    counts = {"type": "object", "additionalProperties": count}
    username = _s(
        "letters, digits, '_', '.', '-'; not starting with '.' or '-'",
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
        minLength=1,
        maxLength=settings.max_username_length,
    )
    action = {"type": "string", "enum": list(ACTIONS)}
    policy_props: Json = {
        "version": _i("stored version; a PUT ignores it and stores the next one", minimum=1),
        "thresholds": {
            "type": "object",
            "description": "category -> score at which a message counts as toxic",
            "additionalProperties": _n(minimum=0, maximum=1),
        },
        "bands": _arr(ref("Band"), description="the most severe matching band wins"),
        "blocked_terms": _arr(_s(), maxItems=1000),
        "blocked_term_action": action,
        "slow_mode_secs": _n(minimum=0),
        "duplicate_window_secs": _n(minimum=0),
        "max_duplicates": _i("the same text this many times in the window is refused", minimum=1),
        "timeout_secs": _n(minimum=0),
        "failure_mode": {
            "type": "string",
            "enum": list(FAILURE_MODES),
            "description": "closed: hold unscored messages; open: deliver them",
        },
    }
    chat_props: Json = {
        "type": {"const": "chat"},
        "id": _s("32 hex characters", pattern="^[0-9a-f]{32}$"),
        "user": _s(),
        "message": _s("masked where action is mask"),
        "toxic": {"type": "boolean"},
        "score": _n("toxicity probability", minimum=0, maximum=1),
        "ts": _s("ISO 8601 UTC", format="date-time"),
        "room": _s(),
        "seq": _i("one more per accepted message in the room", minimum=0),
        "action": {"type": "string", "enum": ["allow", "mask", "unscored", *ACTIONS[2:]]},
        "scores": {"type": "object", "additionalProperties": _n(minimum=0, maximum=1)},
        "policy_version": _i(minimum=1),
    }
    return {
        "Error": _obj(
            ["detail", "error"],
            detail=_s("human-readable"),
            error=_s("machine-readable code, e.g. forbidden"),
        ),
        "Role": {"type": "string", "enum": list(ROLES)},
        "RegisterRequest": _obj(
            ["username", "password"],
            username=username,
            password=_s(minLength=settings.min_password_length),
            email=_nullable(_s(format="email", maxLength=MAX_EMAIL_LENGTH)),
        ),
        "LoginRequest": _obj(["username", "password"], username=_s(), password=_s()),
        "Token": _obj(
            ["access_token", "token_type", "username", "role", "expires_in"],
            access_token=_s("a JWT for the Authorization: Bearer header"),
            token_type={"const": "bearer"},
            username=_s(),
            role=ref("Role"),
            expires_in=_i("seconds", minimum=1),
        ),
        "User": _obj(
            ["id", "username", "email", "role", "created_at", "banned_until"],
            id=_i(),
            username=_s(),
            email=_nullable(_s()),
            role=ref("Role"),
            created_at=_s(format="date-time"),
            banned_until=_nullable(_s(format="date-time")),
        ),
        "Health": _obj(
            ["status"], status=_s("ok while the actor tree runs; else its status, e.g. starting")
        ),
        "Metrics": _obj(
            ["viewer_count", "gift_count", "toxic_pct"],
            viewer_count=count,
            gift_count=count,
            toxic_pct=_n(minimum=0, maximum=100),
            messages_total=count,
            toxic_total=count,
            rooms=count,
            actions=counts,
            refused=counts,
            slow_consumers=count,
            moderation=_obj(
                model=_s(),
                batches=count,
                texts=count,
                failures=count,
                unscored=count,
                mean_latency_ms=_n(minimum=0),
            ),
        ),
        "RoomList": _obj(
            ["rooms"],
            rooms=_arr(_obj(["name", "viewers", "seq"], name=_s(), viewers=count, seq=count)),
        ),
        "ChatFrame": _obj(list(chat_props), **chat_props),
        "History": _obj(["room", "messages"], room=_s(), messages=_arr(ref("ChatFrame"))),
        "AdminMessage": {
            "allOf": [
                ref("ChatFrame"),
                _obj(
                    ["status", "original", "triggers"],
                    status=_s("visible, held, blocked, deleted, rejected"),
                    original=_s("the text as sent"),
                    triggers=_arr(_s()),
                ),
            ]
        },
        "HeldList": _obj(["held"], held=_arr(ref("AdminMessage"))),
        "MessageList": _obj(["messages"], messages=_arr(ref("AdminMessage"))),
        "GiftRequest": _obj(
            ["gift_id"],
            gift_id=_i(
                ", ".join(f"{k}: {v}" for k, v in sorted(GIFT_CATALOGUE.items())),
                enum=sorted(GIFT_CATALOGUE),
            ),
            amount=_i(minimum=1, maximum=MAX_AMOUNT, default=1),
            room=_s(pattern=ROOM_PATTERN, default="main"),
            **{"from": _s("sender; only moderators may name someone else")},
        ),
        "GiftFrame": _obj(
            ["type", "from", "gift_id", "amount", "ts", "room"],
            type={"const": "gift"},
            gift_id=_i(),
            amount=_i(),
            ts=_s(format="date-time"),
            room=_s(),
            **{"from": _s()},
        ),
        "TopGifters": _obj(
            ["top"], top=_arr(_obj(["user", "amount"], user=_s(), amount=_i(minimum=1)))
        ),
        "ActorNode": _obj(
            ["name", "path", "kind", "status", "restarts", "mailbox", "info", "children"],
            name=_s(),
            path=_s(),
            kind=_s(),
            status={
                "type": "string",
                "enum": ["starting", "running", "restarting", "stopping", "stopped", "failed"],
            },
            restarts=count,
            last_error=_obj(["type", "message"], type=_s(), message=_s(), at=_n("trio time"))
            | {"type": ["object", "null"]},
            mailbox=_obj(depth=count, capacity=count, dropped=count, sent=count, policy=_s()),
            handled=count,
            uptime=_n(minimum=0),
            info={"type": "object", "description": "the actor's introspect()"},
            children=_arr(ref("ActorNode")),
        ),
        "TargetRequest": _obj(
            ["username"],
            username=_s("the user acted on (`user` is accepted as an alias)"),
            reason=_s(f"kept up to {MAX_REASON} characters"),
        ),
        "MuteRequest": _obj(
            ["username"],
            username=_s("`user` is accepted as an alias"),
            duration_secs=_n(minimum=1, maximum=MAX_SANCTION_SECS, default=DEFAULT_MUTE_SECS),
            reason=_s(),
            message_id=_s(
                "the message that earned the time-out: stored as a 'toxic' label for the "
                "model when the model had let it through"
            ),
        ),
        "BanRequest": _obj(
            ["username"],
            username=_s("`user` is accepted as an alias"),
            duration_secs=_n("absent: permanent", minimum=1, maximum=MAX_SANCTION_SECS),
            reason=_s(),
        ),
        "ReasonRequest": _obj(reason=_s(f"kept up to {MAX_REASON} characters")),
        "KickResult": _obj(
            ["status", "username", "connections"],
            status={"const": "kicked"},
            username=_s(),
            connections=_i("sockets closed (code 4000)", minimum=0),
        ),
        "MuteResult": _obj(
            ["status", "username", "until"],
            status={"const": "muted"},
            username=_s(),
            until=_n("epoch seconds"),
        ),
        "BanResult": _obj(
            ["status", "username", "until", "connections"],
            status={"const": "banned"},
            username=_s(),
            until=_nullable(_s("null: permanent", format="date-time")),
            connections=_i("sockets closed (code 4003)", minimum=0),
        ),
        "UserStatus": _obj(["status", "username"], status=_s(), username=_s()),
        "MessageStatus": _obj(
            ["status", "id"], status=_s("deleted, approved or rejected"), id=_s()
        ),
        "Status": _obj(["status"], status=_s()),
        "AuditEntry": _obj(
            ["id", "actor", "action", "target", "created_at"],
            id=_i(),
            actor=_s(),
            action=_s("kick, mute, unmute, ban, unban, reset_metrics, policy, crash_actor, ..."),
            target=_nullable(_s()),
            room=_nullable(_s()),
            reason=_nullable(_s()),
            duration_secs=_nullable(_n()),
            detail={"type": ["object", "null"]},
            created_at=_s(format="date-time"),
        ),
        "AuditLog": _obj(["actions"], actions=_arr(ref("AuditEntry"))),
        "CrashRequest": _obj(
            ["path"], path=_s("an actor path", pattern="^/", examples=["/safestream/gifts"])
        ),
        "CrashResult": _obj(["status", "path"], status={"const": "crash sent"}, path=_s()),
        "Band": _obj(
            ["category", "min_score", "action"],
            category=_s('a score category, or "any"', minLength=1),
            min_score=_n(minimum=0, maximum=1),
            action=action,
        ),
        "Policy": _obj(list(policy_props), **policy_props),
        "PolicyUpdate": _obj((), additional=False, **policy_props)
        | {"description": "omitted fields take their defaults; version is ignored"},
        "FeedEvent": _obj(
            ["type", "data"],
            type={"type": "string", "enum": ["message", "held", "action", "metrics"]},
            data={"type": "object"},
        ),
    }
