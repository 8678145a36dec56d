"""Settings: defaults, URL mapping, `.env` layering, and one clear line per invalid value."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from luthien_proxy import env_aliases
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


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a new process: no old name has warned yet."""
    monkeypatch.setattr(env_aliases, "_warned", set())


def _deprecations(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "is deprecated" in r.getMessage()]


def test_an_old_name_works_and_warns_once_per_process(
    fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    old = {"CONTROL_PLANE_PORT": "9050", "STREAM_CONTEXT_TTL": "120", "CONTROL_PLANE_LOG_LEVEL": "DEBUG"}
    with caplog.at_level(logging.WARNING, logger="luthien_proxy.settings"):
        first = Settings.from_env(old, env_file=NO_FILE)
        again = Settings.from_env(old, env_file=NO_FILE)
    assert first.port == again.port == 9050
    assert first.stream_context_ttl_seconds == 120
    assert first.log_level == "debug"
    assert sorted(_deprecations(caplog)) == [
        "CONTROL_PLANE_LOG_LEVEL is deprecated; use LUTHIEN_LOG_LEVEL",
        "CONTROL_PLANE_PORT is deprecated; use LUTHIEN_PORT",
        "STREAM_CONTEXT_TTL is deprecated; use LUTHIEN_STREAM_CONTEXT_TTL_SECONDS",
    ]


def test_the_new_name_wins_when_both_are_set(fresh_warnings: None, caplog: pytest.LogCaptureFixture) -> None:
    env = {"CONTROL_PLANE_URL": "http://old.example:1", "LUTHIEN_CONTROL_PLANE_URL": "http://new.example:2"}
    with caplog.at_level(logging.WARNING, logger="luthien_proxy.settings"):
        settings = Settings.from_env(env, env_file=NO_FILE)
    assert settings.control_plane_url == "http://new.example:2"
    assert _deprecations(caplog) == [
        "CONTROL_PLANE_URL is deprecated; use LUTHIEN_CONTROL_PLANE_URL "
        "(both are set: LUTHIEN_CONTROL_PLANE_URL wins)"
    ]


def test_an_old_name_in_the_env_file_is_an_alias_too(fresh_warnings: None, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LITELLM_CONFIG_PATH=config/other.yaml\nCONVERSATION_STREAM_HEARTBEAT_INTERVAL=2.5\n")
    settings = Settings.from_env({}, env_file=env_file)
    assert settings.model_config == Path("config/other.yaml") and settings.model_config_explicit
    assert settings.sse_heartbeat_seconds == 2.5


def test_every_alias_is_in_the_docs_table_beside_its_new_name() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs/architecture.md").read_text()
    rows = [line for line in doc.splitlines() if line.startswith("| `")]
    for old, new in env_aliases.ALIASES.items():
        assert any(f"`{old}`" in row and f"`{new}`" in row for row in rows), old
