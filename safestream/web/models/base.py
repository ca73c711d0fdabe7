"""Shared pieces of the API models: text that the store can hold, names, the error body.

`Text` is the type of every string a client sends: valid Unicode (a lone surrogate such
as JSON `"\\ud800"` cannot be encoded as UTF-8, so no database can store it) and no NUL
(PostgreSQL refuses it). Request bodies are strict (no `"5"` for 5, no `true` for 1);
query strings are lax, since every query value arrives as text.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from safestream.chat.room_supervisor import ROOM_NAME

__all__ = [
    "Body",
    "Email",
    "Error",
    "Query",
    "Reason",
    "Response",
    "RoomName",
    "Text",
    "Username",
]

MAX_REASON = 500
MAX_EMAIL_LENGTH = 254
# Local part and domain from a conservative ASCII set: no spaces, line breaks, quotes or
# angle brackets, so an address can go into a header or a page without escaping games.
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*$"


def _storable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            "invalid_text", "must be valid Unicode text (no lone surrogates)"
        ) from None
    if "\x00" in value:
        raise PydanticCustomError("invalid_text", "must not contain NUL characters")
    return value


def _empty_is_none(value: Any) -> Any:
    return None if value == "" else value


Text = Annotated[str, AfterValidator(_storable)]
"""Any string a client sends: encodable as UTF-8, without NUL."""

Username = Annotated[Text, Field(min_length=1, max_length=200)]
Reason = Annotated[Text, Field(max_length=MAX_REASON, description="why (kept in the audit log)")]
RoomName = Annotated[
    str,
    Field(
        pattern=ROOM_NAME.pattern,
        description="room name: 1-40 letters, digits, '_' or '-'",
        examples=["main"],
    ),
]
EmailAddress = Annotated[
    Text,
    Field(
        max_length=MAX_EMAIL_LENGTH,
        pattern=EMAIL_PATTERN,
        description="name@host in plain ASCII (no spaces, quotes or markup)",
    ),
]
Email = Annotated[EmailAddress | None, BeforeValidator(_empty_is_none)]
"""An optional e-mail address; an empty string counts as none (the original's form)."""


class Body(BaseModel):
    """A JSON request body: strict types, unknown fields ignored, no NaN or infinity."""

    model_config = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False, frozen=True)


class Query(BaseModel):
    """A query string: values are text, converted; an empty value counts as absent."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_empty(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value != ""}
        return data


class Response(BaseModel):
    """An answer; routes build it, so it is not validated again on the way out."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)


class Error(Response):
    """Every refusal: `detail` for people (as the original FastAPI server), `error` for code."""

    detail: str = Field(description="human-readable")
    error: str = Field(description="machine-readable code, e.g. forbidden")
