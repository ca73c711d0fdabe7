"""The store's exceptions: one base class, :class:`StoreError`.

Database driver errors other than the ones translated here propagate as SQLAlchemy's
own (``sqlalchemy.exc.OperationalError`` for a lost connection, for example).
"""

from __future__ import annotations

__all__ = [
    "InvalidTransition",
    "MessageNotFound",
    "NoShadow",
    "StalePolicyVersion",
    "StoreError",
    "UserExists",
    "UserNotFound",
]


class StoreError(Exception):
    """Base class of the store's own errors."""


class UserExists(StoreError):
    """A user with this username already exists."""

    def __init__(self, username: str) -> None:
        super().__init__(f"user {username!r} already exists")
        self.username = username


class UserNotFound(StoreError, LookupError):
    """No user has this username."""

    def __init__(self, username: str) -> None:
        super().__init__(f"no user {username!r}")
        self.username = username


class MessageNotFound(StoreError, LookupError):
    """No message has this id."""

    def __init__(self, message_id: str) -> None:
        super().__init__(f"no message {message_id!r}")
        self.message_id = message_id


class InvalidTransition(StoreError):
    """The message cannot move from its current status to the one asked for."""

    def __init__(self, message_id: str, current: str, wanted: str) -> None:
        super().__init__(f"message {message_id!r} is {current!r}; cannot become {wanted!r}")
        self.message_id = message_id
        self.current = current
        self.wanted = wanted


class StalePolicyVersion(StoreError):
    """A room policy was saved with a version older than (or equal to, but different
    from) the stored one: another writer got there first."""

    def __init__(self, room: str, stored: int, given: int) -> None:
        super().__init__(f"room {room!r} has policy version {stored}; cannot save {given}")
        self.room = room
        self.stored = stored
        self.given = given


class NoShadow(StoreError, LookupError):
    """The room has no active shadow policy."""

    def __init__(self, room: str) -> None:
        super().__init__(f"room {room!r} has no shadow policy")
        self.room = room
