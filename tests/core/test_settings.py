"""Settings: defaults, URL mapping, `.env` layering, and one clear line per invalid value."""

from __future__ import annotations

from pathlib import Path

import pytest

from luthien_proxy.settings import Settings, SettingsError

NO_FILE = Path("/nonexistent/.env")


def test_defaults_are_the_embedded_stack_on_loopback() -> None:
    settings = Settings.from_env({}, env_file=NO_FILE)
    assert settings.database_url == "sqlite+aiosqlite:///.luthien/luthien.db"
    assert settings.redis_url is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8081)
    assert settings.policy_config == Path("config/luthien_config.yaml")
    assert not settings.policy_config_explicit
    assert settings.stream_context_ttl_seconds == 3600
    assert settings.max_body_bytes == 10 * 1024 * 1024
    assert settings.fail_mode == "closed"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://postgres@127.0.0.1:5432/test", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///tmp/x.db", "sqlite+aiosqlite:///tmp/x.db"),
    ],
)
def test_database_urls_map_to_async_drivers(given: str, expected: str) -> None:
    assert Settings.from_env({"DATABASE_URL": given}, env_file=NO_FILE).database_url == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://root@localhost/x"),
        ("REDIS_URL", "http://localhost:6379"),
        ("LUTHIEN_PORT", "eighty"),
        ("LUTHIEN_PORT", "70000"),
        ("LUTHIEN_STREAM_CONTEXT_TTL_SECONDS", "-5"),
        ("LUTHIEN_MAX_BODY_BYTES", "1.5"),
        ("LUTHIEN_FAIL_MODE", "sometimes"),
        ("LUTHIEN_STREAM_IDLE_TIMEOUT_SECONDS", "soon"),
        ("LUTHIEN_ALLOWED_HOSTS", "localhost,https://luthien.example.com"),
        ("LUTHIEN_TRUSTED_PROXIES", "10.0.0.1 10.0.0.2"),
        ("LUTHIEN_ADMIN_SESSION_TTL_SECONDS", "0"),
        ("LUTHIEN_SSE_MAX_STREAMS_PER_CLIENT", "none"),
    ],
)
def test_invalid_value_names_the_variable_in_one_line(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value}, env_file=NO_FILE)
    message = str(caught.value)
    assert message.startswith(name)
    assert "\n" not in message


def test_invalid_url_message_does_not_echo_credentials() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"DATABASE_URL": "mysql://admin:hunter2@db/x"}, env_file=NO_FILE)
    assert "hunter2" not in str(caught.value)


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LUTHIEN_PORT=9001\nREDIS_URL=redis://127.0.0.1:6379/2\n")
    settings = Settings.from_env({"LUTHIEN_PORT": "9002"}, env_file=env_file)
    assert settings.port == 9002
    assert settings.redis_url == "redis://127.0.0.1:6379/2"


def test_overrides_replace_only_given_fields() -> None:
    settings = Settings.from_env({}, env_file=NO_FILE).with_overrides(port=9100, host=None)
    assert (settings.host, settings.port) == ("127.0.0.1", 9100)
