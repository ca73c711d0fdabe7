"""Every setting of SafeStream in one frozen object, read from the environment.

The original SafeStream's variable names and defaults are kept (`JWT_SECRET_KEY`,
`JWT_EXPIRE_MINUTES`, `DATABASE_URL`, `GIFT_INTERVAL_SECS`, `TOXIC_THRESHOLD`,
`DISABLE_DETOXIFY`, `MAX_CONNECTIONS`, `MAX_USERNAME_LENGTH`, `CLEANUP_INTERVAL`,
`APP_PORT`, `DASH_PORT`); every bound of a queue, buffer or pool is a named setting here.

`Settings` is a pydantic-settings model: each field's type states its rule (`PositiveInt`
where 0 would mean "nothing works" or a busy loop, `NonNegativeFloat`, a `Literal` for a
choice), and its environment variable is the field name upper-cased, except `mode`
(`SAFESTREAM_MODE`) and `api_url` (`SAFESTREAM_URL`). Any bad value raises `ConfigError`
naming the variable.

Two ways in, neither of which reads anything else:

- `Settings.from_env(environ)` reads only `environ` (`os.environ` when None), never a
  `.env` file; booleans accept 1/true/yes/on (and 0/false/no/off), `ALLOWED_ORIGINS` is a
  comma list.
- `Settings(field=value, ...)` takes keyword arguments only (tests, `replace`): the
  process environment cannot leak into a test.

Example:
    settings = Settings.from_env({"SAFESTREAM_MODE": "demo"})
    assert settings.app_port == 8000
    assert settings.replace(app_port=9000).base_url == "http://127.0.0.1:9000"
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasGenerator,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from safestream.moderation.policy import FailureMode

__all__ = ["ConfigError", "Mode", "Settings"]

Mode = Literal["demo", "production"]


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    """Configuration of one SafeStream node. Comments name each field's variable."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=AliasGenerator(validation_alias=str.upper),
        validate_by_name=True,
        validate_by_alias=True,
        case_sensitive=True,
        env_ignore_empty=True,
    )

    # SAFESTREAM_MODE: demo (demo accounts, generated secret) | production
    mode: Mode = Field("production", validation_alias="SAFESTREAM_MODE")
    # JWT_SECRET_KEY: required in production; kept out of reprs and tracebacks
    jwt_secret_key: str = Field("", repr=False)
    jwt_expire_minutes: PositiveInt = 30  # JWT_EXPIRE_MINUTES
    jwt_issuer: str = "safestream"  # JWT_ISSUER
    database_url: str = "sqlite:///data/safestream.db"  # DATABASE_URL
    data_dir: str = "data"  # DATA_DIR: SQLite file, demo secret
    app_host: str = "127.0.0.1"  # APP_HOST
    app_port: PositiveInt = 8000  # APP_PORT
    dash_port: NonNegativeInt = 8501  # DASH_PORT
    # SAFESTREAM_URL: where CLI/dashboard find the app; default from port
    api_url: str = Field("", validation_alias="SAFESTREAM_URL")
    listen_backlog: PositiveInt = 1024  # LISTEN_BACKLOG: Hypercorn's default 100 refuses bursts
    # KEEP_ALIVE_SECS: an idle HTTP connection closes after this
    keep_alive_secs: PositiveFloat = 5.0
    # BODY_TIMEOUT_SECS: a request body must arrive within this
    body_timeout_secs: PositiveFloat = 10.0
    gift_interval_secs: NonNegativeFloat = 15.0  # GIFT_INTERVAL_SECS: 0 disables random gifts
    gifts_per_minute: PositiveInt = 30  # GIFTS_PER_MINUTE: gifts one user may send (burst too)
    # TOXIC_THRESHOLD: default policy's toxicity threshold
    toxic_threshold: Annotated[float, Field(ge=0.0, le=1.0)] = 0.6
    disable_detoxify: bool = False  # DISABLE_DETOXIFY: never load a torch Detoxify model
    moderation_model: str = "default"  # MODERATION_MODEL: default|keyword|profanity|...
    moderation_workers: PositiveInt = 1  # MODERATION_WORKERS
    moderation_batch_size: PositiveInt = 32  # MODERATION_BATCH_SIZE
    moderation_batch_wait_ms: NonNegativeFloat = 5.0  # MODERATION_BATCH_WAIT_MS
    moderation_queue_size: PositiveInt = 1024  # MODERATION_QUEUE_SIZE
    moderation_timeout_secs: PositiveFloat = 2.0  # MODERATION_TIMEOUT_SECS
    moderation_failure_mode: FailureMode = "closed"  # MODERATION_FAILURE_MODE: closed (hold) | open
    torch_threads: PositiveInt = 1  # TORCH_THREADS
    # MODEL_DIR: retrained chat-model versions and which is live ("" = DATA_DIR/models)
    model_dir: str = ""
    # MODEL_TRAIN_DATA: the shared CSV a retrain adds to the chat lines and labels ("" = none)
    model_train_data: str = ""
    # MODEL_RETRAIN_MAX_LABELS: moderator labels one retrain reads, newest first
    model_retrain_max_labels: PositiveInt = 20_000
    # MODERATION_BAND_LOW / _HIGH: the default model's uncertain band sent to Detoxify
    moderation_band_low: Annotated[float, Field(ge=0.0, le=1.0)] = 0.3
    moderation_band_high: Annotated[float, Field(ge=0.0, le=1.0)] = 0.9
    max_connections: PositiveInt = 1000  # MAX_CONNECTIONS: whole node
    max_connections_per_user: PositiveInt = 10  # MAX_CONNECTIONS_PER_USER
    max_connections_per_ip: PositiveInt = 200  # MAX_CONNECTIONS_PER_IP
    max_username_length: PositiveInt = 50  # MAX_USERNAME_LENGTH
    min_password_length: NonNegativeInt = 8  # MIN_PASSWORD_LENGTH (demo accounts are exempt)
    bcrypt_rounds: PositiveInt = 12  # BCRYPT_ROUNDS
    # LOGIN_ATTEMPTS_PER_MINUTE: per IP and per username
    login_attempts_per_minute: PositiveInt = 10
    max_message_length: PositiveInt = 500  # MAX_MESSAGE_LENGTH: characters of one chat message
    max_frame_bytes: PositiveInt = 8192  # MAX_FRAME_BYTES: bigger frames close the socket (1009)
    # MESSAGES_PER_SECOND: sustained frames per connection
    messages_per_second: PositiveFloat = 5.0
    message_burst: PositiveInt = 10  # MESSAGE_BURST: token-bucket burst
    auth_timeout_secs: PositiveFloat = 10.0  # AUTH_TIMEOUT_SECS: wait for a first auth frame
    # CONNECTION_OUTBOX_SIZE: frames queued per viewer
    connection_outbox_size: PositiveInt = 256
    # CONNECTION_OUTBOX_LIMIT: frames kept per viewer while the *server* is behind
    # (frames are shared bytes, so a backlog costs a pointer per frame per viewer)
    connection_outbox_limit: PositiveInt = 8192
    # SLOW_CONSUMER_SECS: a viewer whose socket refuses bytes this long is closed (4008)
    slow_consumer_secs: PositiveFloat = 5.0
    # ROOM_BUSY_DELIVERY_MS: a room whose viewers' oldest unsent frame is older refuses
    # posts with room_busy (the server is behind on delivery)
    room_busy_delivery_ms: PositiveFloat = 1000.0
    # ROOM_BUSY_PIPELINE_MS: a room whose oldest accepted post waits longer than this for
    # moderation and storage refuses posts with room_busy
    room_busy_pipeline_ms: PositiveFloat = 2000.0
    # BATCH_TICK_MS: batched clients get one frame per tick (at most 1000 ms)
    batch_tick_ms: Annotated[float, Field(gt=0.0, le=1000.0)] = 20.0
    # CHAT_SOCKET: "own" (the node's listener writes pre-framed bytes) or "asgi" (every
    # chat socket through Hypercorn's ASGI WebSocket: the slower fallback, for comparison)
    chat_socket: Literal["own", "asgi"] = "own"
    # CHAT_SEND_BUFFER_BYTES: each chat socket's kernel send buffer (0: the kernel's
    # autotuning, which lets one slow viewer's backlog grow to megabytes unseen)
    chat_send_buffer_bytes: NonNegativeInt = 262_144
    history_size: NonNegativeInt = 50  # HISTORY_SIZE: messages sent on join
    # REPLAY_BUFFER_SIZE: messages kept per room for ?since=
    replay_buffer_size: PositiveInt = 1000
    room_mailbox_size: PositiveInt = 1024  # ROOM_MAILBOX_SIZE
    room_idle_secs: NonNegativeFloat = 300.0  # ROOM_IDLE_SECS: empty rooms passivate after this
    max_rooms: PositiveInt = 1000  # MAX_ROOMS
    cleanup_interval: PositiveFloat = 60.0  # CLEANUP_INTERVAL: seconds between idle-room checks
    store_batch_size: PositiveInt = 256  # STORE_BATCH_SIZE: rows per group commit
    store_flush_ms: NonNegativeFloat = 5.0  # STORE_FLUSH_MS: wait for more rows before committing
    store_queue_size: PositiveInt = 8192  # STORE_QUEUE_SIZE: writer mailbox
    # DB_STATEMENT_TIMEOUT_MS: PostgreSQL statement_timeout of every connection
    db_statement_timeout_ms: PositiveInt = 10_000
    db_threads: PositiveInt = 4  # DB_THREADS: worker threads for SQLAlchemy sessions
    # SQLITE_BUSY_TIMEOUT_MS: a write waits this long for a locked SQLite file, then fails
    sqlite_busy_timeout_ms: PositiveInt = 5000
    # ALLOWED_ORIGINS: comma list; empty = same host
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()
    fault_injection: bool = False  # FAULT_INJECTION: admins may crash actors (always in demo)
    broker_url: str = "memory://"  # BROKER_URL: memory:// | redis://... | nats://...
    # WORKERS: node processes on this machine sharing APP_PORT (SO_REUSEPORT); > 1 needs a
    # Redis or NATS BROKER_URL
    workers: PositiveInt = 1
    # BROKER_NAMESPACE: prefix of every subject and lease (one cluster per namespace)
    broker_namespace: str = "safestream"
    node_id: str = ""  # NODE_ID: name of this node on the broker (random when empty)
    # SANCTIONS_SYNC_SECS: with a Redis or NATS broker, every node reads the stored mutes
    # and bans this often, so one whose broadcast was lost still holds everywhere
    sanctions_sync_secs: PositiveFloat = 10.0
    # What-if tools (replay, shadow policies, explanations): bounds of one replay, and of
    # the low-priority scoring that replays and explanations share with live moderation.
    # REPLAY_MAX_WINDOW_SECS: the longest time window a replay may cover
    replay_max_window_secs: PositiveFloat = 7 * 24 * 3600.0
    replay_max_messages: PositiveInt = 10_000  # REPLAY_MAX_MESSAGES: newest read in a window
    # REPLAY_RESCORE_MAX_MESSAGES: a replay that re-scores covers at most this many
    replay_rescore_max_messages: PositiveInt = 2000
    # REPLAY_TIMEOUT_SECS: a replay still running after this answers what it has (partial)
    replay_timeout_secs: PositiveFloat = 60.0
    replay_concurrency: PositiveInt = 2  # REPLAY_CONCURRENCY: replays at once per node
    # BACKGROUND_SCORE_CHUNK: texts per low-priority model call (a live batch waits at most
    # for one such chunk)
    background_score_chunk: PositiveInt = 16
    occlusion_max_words: PositiveInt = 40  # OCCLUSION_MAX_WORDS: words tried per message

    def __init__(self, **values: Any) -> None:
        """Build from keyword arguments (field names or variable names) only.

        Raises:
            ConfigError: a value is of the wrong type, out of range, or not a field.
        """
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from exc

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments only; `from_env` reads the environment it is given."""
        return (init_settings,)

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    def check_server_secret(self) -> None:
        """A server signs tokens: no usable default secret outside demo mode.

        Raises:
            ConfigError: production mode without a JWT_SECRET_KEY of 32+ characters.
        """
        if len(self.jwt_secret_key) < 32:
            raise ConfigError(
                "JWT_SECRET_KEY must be set to at least 32 characters in production mode "
                "(or run with SAFESTREAM_MODE=demo)"
            )

    @property
    def demo(self) -> bool:
        """True in demo mode: demo accounts exist and a secret is generated."""
        return self.mode == "demo"

    @property
    def allows_fault_injection(self) -> bool:
        """Admins may crash live actors to watch supervision (demo mode, or opted in)."""
        return self.demo or self.fault_injection

    @property
    def model_path(self) -> Path:
        """Where retrained model versions live (`MODEL_DIR`, else `DATA_DIR/models`)."""
        return Path(self.model_dir) if self.model_dir else Path(self.data_dir) / "models"

    @property
    def base_url(self) -> str:
        """The URL clients of this node (CLI, dashboard) use."""
        return self.api_url or f"http://127.0.0.1:{self.app_port}"

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (validated again).

        Raises:
            ConfigError: as the constructor.
        """
        return type(self)(**{**self.model_dump(), **changes})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, server: bool = True) -> Settings:
        """Read every field from its environment variable; unset or empty ones keep defaults.

        Only `environ` is read (`os.environ` when None): no `.env` file, no other source.
        In demo mode without `JWT_SECRET_KEY`, a random secret is generated once and
        kept in `DATA_DIR/.jwt_secret` so tokens survive restarts. With `server=False`
        (clients such as the dashboard, which never sign tokens) no secret is required.

        Raises:
            ConfigError: a value cannot be parsed or is out of range, or (with `server`)
                production mode lacks a 32+ character `JWT_SECRET_KEY`.
        """
        values = _EnvironSource(cls, os.environ if environ is None else environ)()
        settings = cls(**values)
        if settings.demo and not settings.jwt_secret_key:
            settings = settings.replace(jwt_secret_key=_demo_secret(Path(settings.data_dir)))
        if server:
            settings.check_server_secret()
        return settings


class _EnvironSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of `os.environ`.

    `_load_env_vars` is the hook pydantic-settings' own `.env` file source overrides for the
    same purpose; the mapping is taken as given because the model is case-sensitive.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        ignore_empty = self.env_ignore_empty
        return {name: value for name, value in self._environ.items() if value or not ignore_empty}


def _describe(error: ValidationError) -> str:
    """One clause per bad value, each led by the variable that holds it."""
    fields = Settings.model_fields
    parts = []
    for item in error.errors(include_url=False):
        name = str(item["loc"][0]) if item["loc"] else ""
        alias = fields[name].validation_alias if name in fields else None
        parts.append(f"{alias if isinstance(alias, str) else name}: {item['msg']}")
    return "; ".join(parts)


def _demo_secret(data_dir: Path) -> str:
    path = data_dir / ".jwt_secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret
