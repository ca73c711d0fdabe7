"""Every setting of SafeStream in one frozen object, read from the environment.

The original SafeStream's variable names and defaults are kept (`JWT_SECRET_KEY`,
`JWT_EXPIRE_MINUTES`, `DATABASE_URL`, `GIFT_INTERVAL_SECS`, `TOXIC_THRESHOLD`,
`DISABLE_DETOXIFY`, `MAX_CONNECTIONS`, `MAX_USERNAME_LENGTH`, `CLEANUP_INTERVAL`,
`APP_PORT`, `DASH_PORT`); every bound of a queue, buffer or pool is a named setting here.

Example:
    settings = Settings.from_env({"SAFESTREAM_MODE": "demo"})
    assert settings.app_port == 8000
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ConfigError", "Settings"]

MODES = ("demo", "production")
FAILURE_MODES = ("closed", "open")
MAX_BATCH_TICK_MS = 1000.0  # a batched client waits at most this long for an event
# Bounds and rates where 0 would mean "nothing works" or a busy loop.
POSITIVE = frozenset(
    {
        "max_connections",
        "max_connections_per_user",
        "max_connections_per_ip",
        "max_username_length",
        "max_message_length",
        "max_frame_bytes",
        "messages_per_second",
        "message_burst",
        "connection_outbox_size",
        "slow_consumer_secs",
        "batch_tick_ms",
        "replay_buffer_size",
        "room_mailbox_size",
        "max_rooms",
        "cleanup_interval",
        "store_batch_size",
        "store_queue_size",
        "db_threads",
        "moderation_workers",
        "moderation_batch_size",
        "moderation_queue_size",
        "moderation_timeout_secs",
        "torch_threads",
        "listen_backlog",
        "auth_timeout_secs",
        "bcrypt_rounds",
        "jwt_expire_minutes",
        "app_port",
        "login_attempts_per_minute",
    }
)


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Configuration of one SafeStream node. Field docs name their environment variable."""

    mode: str = "production"  # SAFESTREAM_MODE: demo (demo accounts, generated secret) | production
    jwt_secret_key: str = ""  # JWT_SECRET_KEY: required in production
    jwt_expire_minutes: int = 30  # JWT_EXPIRE_MINUTES
    jwt_issuer: str = "safestream"  # JWT_ISSUER
    database_url: str = "sqlite:///data/safestream.db"  # DATABASE_URL
    data_dir: str = "data"  # DATA_DIR: SQLite file, demo secret
    app_host: str = "127.0.0.1"  # APP_HOST
    app_port: int = 8000  # APP_PORT
    dash_port: int = 8501  # DASH_PORT
    api_url: str = ""  # SAFESTREAM_URL: where CLI/dashboard find the app; default from port
    listen_backlog: int = 1024  # LISTEN_BACKLOG: Hypercorn's default 100 refuses bursts
    gift_interval_secs: float = 15.0  # GIFT_INTERVAL_SECS: 0 disables random gifts
    toxic_threshold: float = 0.6  # TOXIC_THRESHOLD: default policy's toxicity threshold
    disable_detoxify: bool = False  # DISABLE_DETOXIFY: never load a torch Detoxify model
    moderation_model: str = "default"  # MODERATION_MODEL: default|keyword|profanity|...
    moderation_workers: int = 1  # MODERATION_WORKERS
    moderation_batch_size: int = 32  # MODERATION_BATCH_SIZE
    moderation_batch_wait_ms: float = 5.0  # MODERATION_BATCH_WAIT_MS
    moderation_queue_size: int = 1024  # MODERATION_QUEUE_SIZE
    moderation_timeout_secs: float = 2.0  # MODERATION_TIMEOUT_SECS
    moderation_failure_mode: str = "closed"  # MODERATION_FAILURE_MODE: closed (hold) | open
    torch_threads: int = 1  # TORCH_THREADS
    max_connections: int = 1000  # MAX_CONNECTIONS: whole node
    max_connections_per_user: int = 10  # MAX_CONNECTIONS_PER_USER
    max_connections_per_ip: int = 200  # MAX_CONNECTIONS_PER_IP
    max_username_length: int = 50  # MAX_USERNAME_LENGTH
    min_password_length: int = 8  # MIN_PASSWORD_LENGTH (demo accounts are exempt)
    bcrypt_rounds: int = 12  # BCRYPT_ROUNDS
    login_attempts_per_minute: int = 10  # LOGIN_ATTEMPTS_PER_MINUTE: per IP and per username
    max_message_length: int = 500  # MAX_MESSAGE_LENGTH: characters of one chat message
    max_frame_bytes: int = 8192  # MAX_FRAME_BYTES: bigger frames close the socket (1009)
    messages_per_second: float = 5.0  # MESSAGES_PER_SECOND: sustained frames per connection
    message_burst: int = 10  # MESSAGE_BURST: token-bucket burst
    auth_timeout_secs: float = 10.0  # AUTH_TIMEOUT_SECS: wait for a first auth frame
    connection_outbox_size: int = 256  # CONNECTION_OUTBOX_SIZE: frames queued per viewer
    slow_consumer_secs: float = 5.0  # SLOW_CONSUMER_SECS: outbox full this long -> close 4008
    batch_tick_ms: float = 20.0  # BATCH_TICK_MS: batched clients get one frame per tick (<= 1000)
    history_size: int = 50  # HISTORY_SIZE: messages sent on join
    replay_buffer_size: int = 1000  # REPLAY_BUFFER_SIZE: messages kept per room for ?since=
    room_mailbox_size: int = 1024  # ROOM_MAILBOX_SIZE
    room_idle_secs: float = 300.0  # ROOM_IDLE_SECS: empty rooms passivate after this
    max_rooms: int = 1000  # MAX_ROOMS
    cleanup_interval: float = 60.0  # CLEANUP_INTERVAL: seconds between idle-room checks
    store_batch_size: int = 256  # STORE_BATCH_SIZE: rows per group commit
    store_flush_ms: float = 5.0  # STORE_FLUSH_MS: wait for more rows before committing
    store_queue_size: int = 8192  # STORE_QUEUE_SIZE: writer mailbox
    db_threads: int = 4  # DB_THREADS: worker threads for SQLAlchemy sessions
    allowed_origins: tuple[str, ...] = ()  # ALLOWED_ORIGINS: comma list; empty = same host
    fault_injection: bool = False  # FAULT_INJECTION: admins may crash actors (always in demo)
    broker_url: str = "memory://"  # BROKER_URL: memory:// | redis://... | nats://...
    node_id: str = ""  # NODE_ID: name of this node on the broker (random when empty)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"SAFESTREAM_MODE must be one of {MODES}, not {self.mode!r}")
        if self.moderation_failure_mode not in FAILURE_MODES:
            raise ConfigError(f"MODERATION_FAILURE_MODE must be one of {FAILURE_MODES}")
        if not 0.0 <= self.toxic_threshold <= 1.0:
            raise ConfigError("TOXIC_THRESHOLD must be between 0 and 1")
        if self.batch_tick_ms > MAX_BATCH_TICK_MS:
            raise ConfigError(f"BATCH_TICK_MS must be at most {MAX_BATCH_TICK_MS}")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise ConfigError(f"{_env_name(field.name)} must not be negative")
            if field.name in POSITIVE and value <= 0:
                raise ConfigError(f"{_env_name(field.name)} must be greater than 0")

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
    def base_url(self) -> str:
        """The URL clients of this node (CLI, dashboard) use."""
        return self.api_url or f"http://127.0.0.1:{self.app_port}"

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, server: bool = True) -> Settings:
        """Read every field from its environment variable; unset ones keep defaults.

        In demo mode without `JWT_SECRET_KEY`, a random secret is generated once and
        kept in `DATA_DIR/.jwt_secret` so tokens survive restarts. With `server=False`
        (clients such as the dashboard, which never sign tokens) no secret is required.

        Raises:
            ConfigError: a value cannot be parsed or is out of range.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            raw = env.get(_env_name(field.name))
            if raw is None or raw == "":
                continue
            values[field.name] = _parse(field.name, str(field.type), raw)
        mode = values.get("mode", cls.mode)
        if mode == "demo" and not values.get("jwt_secret_key"):
            values["jwt_secret_key"] = _demo_secret(Path(values.get("data_dir", cls.data_dir)))
        settings = cls(**values)
        if server:
            settings.check_server_secret()
        return settings


_ENV_OVERRIDES = {"mode": "SAFESTREAM_MODE", "api_url": "SAFESTREAM_URL"}


def _env_name(field: str) -> str:
    return _ENV_OVERRIDES.get(field, field.upper())


def _parse(name: str, type_name: str, raw: str) -> Any:
    try:
        if type_name == "bool":
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
        if type_name.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"{_env_name(name)}={raw!r} is not a valid {type_name}") from exc
    return raw


def _demo_secret(data_dir: Path) -> str:
    path = data_dir / ".jwt_secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret
