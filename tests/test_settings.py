"""Settings: original names and defaults, no usable secret in production."""

from pathlib import Path

import pytest

from safestream.settings import ConfigError, Settings

SECRET = "s" * 32


def test_original_defaults() -> None:
    settings = Settings.from_env({"JWT_SECRET_KEY": SECRET})
    assert settings.jwt_expire_minutes == 30
    assert settings.gift_interval_secs == 15
    assert settings.toxic_threshold == 0.6
    assert settings.max_connections == 1000
    assert settings.max_username_length == 50
    assert settings.app_port == 8000
    assert settings.dash_port == 8501
    assert not settings.disable_detoxify


def test_production_refuses_to_start_without_secret() -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
        Settings.from_env({})


def test_production_refuses_short_secret() -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({"JWT_SECRET_KEY": "short"})


def test_demo_mode_generates_and_keeps_a_secret(tmp_path: Path) -> None:
    env = {"SAFESTREAM_MODE": "demo", "DATA_DIR": str(tmp_path)}
    first = Settings.from_env(env)
    second = Settings.from_env(env)
    assert len(first.jwt_secret_key) >= 32
    assert first.jwt_secret_key == second.jwt_secret_key
    assert (tmp_path / ".jwt_secret").stat().st_mode & 0o077 == 0


def test_env_values_are_parsed_by_type() -> None:
    settings = Settings.from_env(
        {
            "JWT_SECRET_KEY": SECRET,
            "APP_PORT": "9000",
            "TOXIC_THRESHOLD": "0.8",
            "DISABLE_DETOXIFY": "1",
            "ALLOWED_ORIGINS": "http://a, http://b",
        }
    )
    assert settings.app_port == 9000
    assert settings.toxic_threshold == 0.8
    assert settings.disable_detoxify
    assert settings.allowed_origins == ("http://a", "http://b")


@pytest.mark.parametrize(
    ("name", "value"),
    [("APP_PORT", "eighty"), ("TOXIC_THRESHOLD", "1.5"), ("MAX_CONNECTIONS", "-1")],
)
def test_bad_values_name_their_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"JWT_SECRET_KEY": SECRET, name: value})


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ConfigError, match="SAFESTREAM_MODE"):
        Settings.from_env({"SAFESTREAM_MODE": "yolo"})


def test_clients_need_no_secret_but_a_server_does() -> None:
    settings = Settings.from_env({}, server=False)
    assert settings.jwt_secret_key == ""
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
        settings.check_server_secret()


@pytest.mark.parametrize("name", ["CLEANUP_INTERVAL", "MESSAGES_PER_SECOND", "MAX_ROOMS"])
def test_zero_is_refused_where_it_would_break_the_server(name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"JWT_SECRET_KEY": SECRET, name: "0"})


def test_disable_detoxify_keeps_torch_detoxify_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from safestream import node as app

    asked: list[str] = []
    monkeypatch.setattr(app, "load_classifier", lambda spec, torch_threads: asked.append(spec))
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
