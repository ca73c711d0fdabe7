"""Settings: original names and defaults, typed bounds, no usable secret in production."""

from pathlib import Path

import pytest

from safestream.moderation.policy import FAILURE_MODES
from safestream.settings import ConfigError, Settings

SECRET = "s" * 32

# The bounds and rates where 0 would mean "nothing works" or a busy loop.
POSITIVE = (
    "MAX_CONNECTIONS",
    "WORKERS",
    "DB_STATEMENT_TIMEOUT_MS",
    "MAX_CONNECTIONS_PER_USER",
    "MAX_CONNECTIONS_PER_IP",
    "MAX_USERNAME_LENGTH",
    "MAX_MESSAGE_LENGTH",
    "MAX_FRAME_BYTES",
    "MESSAGES_PER_SECOND",
    "MESSAGE_BURST",
    "CONNECTION_OUTBOX_SIZE",
    "CONNECTION_OUTBOX_LIMIT",
    "ROOM_BUSY_DELIVERY_MS",
    "ROOM_BUSY_PIPELINE_MS",
    "SLOW_CONSUMER_SECS",
    "SANCTIONS_SYNC_SECS",
    "REPLAY_BUFFER_SIZE",
    "ROOM_MAILBOX_SIZE",
    "MAX_ROOMS",
    "CLEANUP_INTERVAL",
    "STORE_BATCH_SIZE",
    "STORE_QUEUE_SIZE",
    "DB_THREADS",
    "SQLITE_BUSY_TIMEOUT_MS",
    "MODERATION_WORKERS",
    "MODERATION_BATCH_SIZE",
    "MODERATION_QUEUE_SIZE",
    "MODERATION_TIMEOUT_SECS",
    "TORCH_THREADS",
    "MODEL_RETRAIN_MAX_LABELS",
    "LISTEN_BACKLOG",
    "KEEP_ALIVE_SECS",
    "BATCH_TICK_MS",
    "BODY_TIMEOUT_SECS",
    "AUTH_TIMEOUT_SECS",
    "BCRYPT_ROUNDS",
    "JWT_EXPIRE_MINUTES",
    "APP_PORT",
    "LOGIN_ATTEMPTS_PER_MINUTE",
    "GIFTS_PER_MINUTE",
    "REPLAY_MAX_WINDOW_SECS",
    "REPLAY_MAX_MESSAGES",
    "REPLAY_RESCORE_MAX_MESSAGES",
    "REPLAY_TIMEOUT_SECS",
    "REPLAY_CONCURRENCY",
    "BACKGROUND_SCORE_CHUNK",
    "OCCLUSION_MAX_WORDS",
)


def _variable(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    assert isinstance(alias, str)
    return alias


NUMERIC = tuple(
    _variable(name)
    for name, info in Settings.model_fields.items()
    if isinstance(info.default, int | float) and not isinstance(info.default, bool)
)


def test_defaults_are_the_originals() -> None:
    settings = Settings.from_env({"JWT_SECRET_KEY": SECRET})
    assert settings.mode == "production"
    assert settings.jwt_expire_minutes == 30
    assert settings.gift_interval_secs == 15
    assert settings.toxic_threshold == 0.6
    assert settings.max_connections == 1000
    assert settings.max_username_length == 50
    assert settings.app_port == 8000
    assert settings.dash_port == 8501
    assert settings.database_url == "sqlite:///data/safestream.db"
    assert settings.moderation_failure_mode == "closed"
    assert settings.allowed_origins == ()
    assert not settings.disable_detoxify


def test_each_variable_is_its_field_upper_cased_except_mode_and_url() -> None:
    overrides = {"mode": "SAFESTREAM_MODE", "api_url": "SAFESTREAM_URL"}
    for name in Settings.model_fields:
        assert _variable(name) == overrides.get(name, name.upper())
    settings = Settings.from_env(
        {"SAFESTREAM_MODE": "demo", "SAFESTREAM_URL": "http://app:80", "JWT_SECRET_KEY": SECRET}
    )
    assert (settings.mode, settings.api_url) == ("demo", "http://app:80")


def test_production_refuses_to_start_without_a_secret() -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY must be set to at least 32"):
        Settings.from_env({})


def test_production_accepts_a_secret_of_exactly_32_characters() -> None:
    assert Settings.from_env({"JWT_SECRET_KEY": "x" * 32}).jwt_secret_key == "x" * 32


def test_production_refuses_a_secret_of_31_characters() -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
        Settings.from_env({"JWT_SECRET_KEY": "x" * 31})


def test_clients_need_no_secret_but_a_server_does() -> None:
    settings = Settings.from_env({}, server=False)
    assert settings.jwt_secret_key == ""
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
        settings.check_server_secret()


def test_demo_mode_generates_a_secret_once_and_keeps_it_private(tmp_path: Path) -> None:
    env = {"SAFESTREAM_MODE": "demo", "DATA_DIR": str(tmp_path)}
    first = Settings.from_env(env)
    second = Settings.from_env(env)
    assert len(first.jwt_secret_key) >= 32
    assert first.jwt_secret_key == second.jwt_secret_key
    assert (tmp_path / ".jwt_secret").read_text() == first.jwt_secret_key
    assert (tmp_path / ".jwt_secret").stat().st_mode & 0o077 == 0


def test_demo_mode_with_a_given_secret_writes_no_secret_file(tmp_path: Path) -> None:
    env = {"SAFESTREAM_MODE": "demo", "DATA_DIR": str(tmp_path), "JWT_SECRET_KEY": SECRET}
    assert Settings.from_env(env).jwt_secret_key == SECRET
    assert not (tmp_path / ".jwt_secret").exists()


def test_env_values_are_parsed_by_type() -> None:
    settings = Settings.from_env(
        {
            "JWT_SECRET_KEY": SECRET,
            "APP_PORT": "9000",
            "TOXIC_THRESHOLD": "0.8",
            "DISABLE_DETOXIFY": "1",
            "ALLOWED_ORIGINS": "http://a, http://b",
            "MODERATION_MODEL": "keyword",
        }
    )
    assert settings.app_port == 9000
    assert settings.toxic_threshold == 0.8
    assert settings.disable_detoxify is True
    assert settings.allowed_origins == ("http://a", "http://b")
    assert settings.moderation_model == "keyword"


@pytest.mark.parametrize("value", ["1", "true", "yes", "on", "TRUE", "On"])
def test_booleans_are_true_for_1_true_yes_on(value: str) -> None:
    assert Settings.from_env({"JWT_SECRET_KEY": SECRET, "FAULT_INJECTION": value}).fault_injection


@pytest.mark.parametrize("value", ["0", "false", "no", "off"])
def test_booleans_are_false_for_0_false_no_off(value: str) -> None:
    env = {"JWT_SECRET_KEY": SECRET, "FAULT_INJECTION": value}
    assert not Settings.from_env(env).fault_injection


def test_a_boolean_that_is_neither_true_nor_false_is_refused() -> None:
    with pytest.raises(ConfigError, match="DISABLE_DETOXIFY"):
        Settings.from_env({"JWT_SECRET_KEY": SECRET, "DISABLE_DETOXIFY": "maybe"})


def test_allowed_origins_is_a_comma_list_without_blanks() -> None:
    env = {"JWT_SECRET_KEY": SECRET, "ALLOWED_ORIGINS": " http://a , ,http://b,"}
    assert Settings.from_env(env).allowed_origins == ("http://a", "http://b")


def test_empty_variables_keep_their_defaults() -> None:
    settings = Settings.from_env({"JWT_SECRET_KEY": SECRET, "APP_PORT": "", "SAFESTREAM_MODE": ""})
    assert (settings.app_port, settings.mode) == (8000, "production")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("APP_PORT", "eighty"),
        ("TOXIC_THRESHOLD", "1.5"),
        ("MAX_CONNECTIONS", "-1"),
        ("GIFT_INTERVAL_SECS", "soon"),
        ("MAX_ROOMS", "2.5"),
    ],
)
def test_a_bad_value_raises_config_error_naming_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}: "):
        Settings.from_env({"JWT_SECRET_KEY": SECRET, name: value})


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


@pytest.mark.parametrize("name", POSITIVE)
def test_zero_is_refused_where_it_would_break_the_server(name: str) -> None:
    with pytest.raises(ConfigError, match=f"{name}: Input should be greater than 0"):
        Settings.from_env({"JWT_SECRET_KEY": SECRET, name: "0"})


@pytest.mark.parametrize("name", POSITIVE)
def test_one_is_accepted_where_zero_is_refused(name: str) -> None:
    Settings.from_env({"JWT_SECRET_KEY": SECRET, name: "1"})


@pytest.mark.parametrize("name", sorted(set(NUMERIC) - set(POSITIVE)))
def test_zero_is_accepted_where_it_means_none_or_off(name: str) -> None:
    Settings.from_env({"JWT_SECRET_KEY": SECRET, name: "0"})


@pytest.mark.parametrize("name", NUMERIC)
def test_negative_numbers_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=f"{name}: Input should be greater than"):
        Settings.from_env({"JWT_SECRET_KEY": SECRET, name: "-1"})


@pytest.mark.parametrize(("value", "accepted"), [("-0.01", False), ("0", True), ("1", True)])
def test_toxic_threshold_is_between_0_and_1_inclusive(value: str, accepted: bool) -> None:
    env = {"JWT_SECRET_KEY": SECRET, "TOXIC_THRESHOLD": value}
    if accepted:
        assert Settings.from_env(env).toxic_threshold == float(value)
    else:
        with pytest.raises(ConfigError, match="TOXIC_THRESHOLD"):
            Settings.from_env(env)


def test_mode_is_demo_or_production() -> None:
    with pytest.raises(
        ConfigError, match="SAFESTREAM_MODE: Input should be 'demo' or 'production'"
    ):
        Settings.from_env({"SAFESTREAM_MODE": "yolo"})


@pytest.mark.parametrize("mode", FAILURE_MODES)
def test_moderation_failure_mode_takes_the_policys_failure_modes(mode: str) -> None:
    env = {"JWT_SECRET_KEY": SECRET, "MODERATION_FAILURE_MODE": mode}
    assert Settings.from_env(env).moderation_failure_mode == mode


def test_an_unknown_moderation_failure_mode_is_refused() -> None:
    with pytest.raises(ConfigError, match="MODERATION_FAILURE_MODE"):
        Settings.from_env({"JWT_SECRET_KEY": SECRET, "MODERATION_FAILURE_MODE": "sideways"})


def test_from_env_with_a_mapping_reads_nothing_else(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("APP_PORT", "1234")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("APP_PORT=4321\nMAX_ROOMS=7\n")
    settings = Settings.from_env({"JWT_SECRET_KEY": SECRET})
    assert (settings.app_port, settings.max_rooms) == (8000, 1000)


def test_from_env_without_a_mapping_reads_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_PORT", "1234")
    monkeypatch.setenv("JWT_SECRET_KEY", SECRET)
    assert Settings.from_env().app_port == 1234


def test_keyword_construction_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_PORT", "1234")
    monkeypatch.setenv("SAFESTREAM_MODE", "production")
    settings = Settings(mode="demo", jwt_secret_key=SECRET)
    assert (settings.mode, settings.app_port) == ("demo", 8000)


def test_keyword_construction_validates_like_the_environment() -> None:
    with pytest.raises(ConfigError, match=r"^MAX_ROOMS: "):
        Settings(max_rooms=0)
    with pytest.raises(ConfigError, match="SAFESTREAM_MODE"):
        Settings(mode="yolo")
    with pytest.raises(ConfigError, match="no_such_setting"):
        Settings(no_such_setting=1)


def test_replace_validates_again_and_leaves_the_original_unchanged() -> None:
    settings = Settings(jwt_secret_key=SECRET)
    changed = settings.replace(app_port=9000, mode="demo")
    assert (changed.app_port, changed.demo, changed.jwt_secret_key) == (9000, True, SECRET)
    assert (settings.app_port, settings.demo) == (8000, False)
    with pytest.raises(ConfigError, match="APP_PORT"):
        settings.replace(app_port=0)


def test_the_secret_stays_out_of_the_repr() -> None:
    assert SECRET not in repr(Settings(jwt_secret_key=SECRET))


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.app_port = 1  # type: ignore[misc]


def test_base_url_is_the_given_url_or_the_local_app_port() -> None:
    assert Settings(app_port=9000).base_url == "http://127.0.0.1:9000"
    assert Settings(api_url="http://app:80").base_url == "http://app:80"


def test_fault_injection_is_allowed_in_demo_mode_or_when_opted_in() -> None:
    assert Settings(mode="demo").allows_fault_injection
    assert Settings(fault_injection=True).allows_fault_injection
    assert not Settings().allows_fault_injection


def test_disable_detoxify_keeps_torch_detoxify_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from safestream import node as app

    asked: list[str] = []
    monkeypatch.setattr(app, "load_classifier", lambda spec, **_kwargs: asked.append(spec))
    settings = Settings.from_env(
        {
            "JWT_SECRET_KEY": SECRET,
            "DISABLE_DETOXIFY": "1",
            "MODERATION_MODEL": "default+detoxify-checkpoint:/x.ckpt",
        }
    )
    app.load_model(settings)
    assert asked == ["default"]


def test_batch_tick_is_positive_and_at_most_a_second() -> None:
    assert Settings.from_env({"JWT_SECRET_KEY": SECRET}).batch_tick_ms == 20.0
    assert (
        Settings.from_env({"JWT_SECRET_KEY": SECRET, "BATCH_TICK_MS": "1000"}).batch_tick_ms == 1000
    )
    for bad in ("0", "1000.5"):
        with pytest.raises(ConfigError, match="BATCH_TICK_MS"):
            Settings.from_env({"JWT_SECRET_KEY": SECRET, "BATCH_TICK_MS": bad})
