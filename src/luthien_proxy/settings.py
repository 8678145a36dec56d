"""Settings read once from the environment (and `.env`), validated before anything starts.

Every variable is documented in `.env.example`. An invalid value raises `SettingsError` whose
message is one line naming the variable, so start-up can stop with exactly that line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar, cast

from dotenv import dotenv_values

from luthien_proxy.env_aliases import resolve_aliases

DEFAULT_DATA_DIR = Path(".luthien")
DEFAULT_POLICY_CONFIG = Path("config/luthien_config.yaml")
DEFAULT_MODEL_CONFIG = Path("config/litellm_config.yaml")
#: The `service.name` of our spans unless `OTEL_SERVICE_NAME` says otherwise.
DEFAULT_SERVICE_NAME = "luthien-proxy"

FailMode = Literal["closed", "open"]
T = TypeVar("T")


class SettingsError(ValueError):
    """A setting has an invalid value; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Everything the control plane needs to start, resolved to concrete values."""

    database_url: str
    redis_url: str | None
    policy_config: Path
    policy_config_explicit: bool
    host: str
    port: int
    stream_context_ttl_seconds: int
    max_body_bytes: int
    write_queue_size: int
    write_batch_size: int
    stream_idle_timeout_seconds: float
    stream_total_timeout_seconds: float
    link_max_streams: int
    sse_heartbeat_seconds: float
    sse_queue_size: int
    sse_max_streams_per_client: int
    sse_max_streams: int
    proxy_token: str | None
    control_plane_url: str
    control_plane_timeout_seconds: float
    client_key: str | None
    admin_key: str | None
    admin_session_ttl_seconds: float
    allowed_hosts: tuple[str, ...]
    trusted_proxies: tuple[str, ...]
    retention_days: float | None
    model_config: Path
    model_config_explicit: bool
    upstream_timeout_seconds: float
    #: On SIGTERM, how long in-flight calls may finish (a held call's wait is then cancelled: it
    #: fails closed and its audit item says so) before the server stops.
    shutdown_grace_seconds: int
    #: Anthropic streams: a `ping` when nothing was sent for this long (a judge at work).
    stream_keepalive_seconds: float
    fail_mode: FailMode
    hook_fast_path: bool
    log_level: str
    #: Where spans go over OTLP/HTTP (the full `/v1/traces` URL); None: no tracing at all.
    otel_traces_endpoint: str | None = None
    otel_service_name: str = DEFAULT_SERVICE_NAME
    #: Named client keys of the native door (`LUTHIEN_CLIENT_KEYS`: `name=key,...`), besides the
    #: master key; policy routing tells them apart by name.
    client_keys: tuple[tuple[str, str], ...] = ()
    #: Reload the policy when its file changes (`LUTHIEN_POLICY_WATCH=on`).
    policy_watch: bool = False

    @property
    def uses_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
        """Build settings from `environ` (default `os.environ`) layered over `env_file` (default `.env`)."""
        env = _merged_env(environ, env_file)
        policy_raw = env.get("LUTHIEN_POLICY_CONFIG")
        return cls(
            database_url=_database_url(env.get("DATABASE_URL")),
            redis_url=_redis_url(env.get("REDIS_URL")),
            policy_config=Path(policy_raw) if policy_raw else DEFAULT_POLICY_CONFIG,
            policy_config_explicit=bool(policy_raw),
            host=env.get("LUTHIEN_HOST") or "127.0.0.1",
            port=_parse(env, "LUTHIEN_PORT", 8081, int, lambda v: 0 < v < 65536, "a port 1-65535"),
            stream_context_ttl_seconds=_positive_int(env, "LUTHIEN_STREAM_CONTEXT_TTL_SECONDS", 3600),
            max_body_bytes=_positive_int(env, "LUTHIEN_MAX_BODY_BYTES", 10 * 1024 * 1024),
            write_queue_size=_positive_int(env, "LUTHIEN_WRITE_QUEUE_SIZE", 50_000),
            write_batch_size=_positive_int(env, "LUTHIEN_WRITE_BATCH_SIZE", 500),
            stream_idle_timeout_seconds=_positive_float(env, "LUTHIEN_STREAM_IDLE_TIMEOUT_SECONDS", 60.0),
            stream_total_timeout_seconds=_positive_float(env, "LUTHIEN_STREAM_TOTAL_TIMEOUT_SECONDS", 600.0),
            link_max_streams=_positive_int(env, "LUTHIEN_LINK_MAX_STREAMS", 1000),
            sse_heartbeat_seconds=_positive_float(env, "LUTHIEN_SSE_HEARTBEAT_SECONDS", 15.0),
            sse_queue_size=_positive_int(env, "LUTHIEN_SSE_QUEUE_SIZE", 1000),
            sse_max_streams_per_client=_positive_int(env, "LUTHIEN_SSE_MAX_STREAMS_PER_CLIENT", 20),
            sse_max_streams=_positive_int(env, "LUTHIEN_SSE_MAX_STREAMS", 500),
            proxy_token=env.get("LUTHIEN_PROXY_TOKEN") or None,
            control_plane_url=_http_url(env, "LUTHIEN_CONTROL_PLANE_URL", "http://127.0.0.1:8081"),
            control_plane_timeout_seconds=_positive_float(env, "LUTHIEN_CONTROL_PLANE_TIMEOUT", 10.0),
            client_key=env.get("LITELLM_MASTER_KEY") or None,
            admin_key=env.get("LUTHIEN_ADMIN_KEY") or None,
            admin_session_ttl_seconds=_positive_float(env, "LUTHIEN_ADMIN_SESSION_TTL_SECONDS", 12 * 3600.0),
            allowed_hosts=_host_names(env, "LUTHIEN_ALLOWED_HOSTS", "/"),
            trusted_proxies=_host_names(env, "LUTHIEN_TRUSTED_PROXIES"),
            retention_days=(
                _positive_float(env, "LUTHIEN_DEBUG_LOG_RETENTION_DAYS", 1.0)
                if env.get("LUTHIEN_DEBUG_LOG_RETENTION_DAYS")
                else None
            ),
            model_config=Path(env.get("LUTHIEN_MODEL_CONFIG") or DEFAULT_MODEL_CONFIG),
            model_config_explicit=bool(env.get("LUTHIEN_MODEL_CONFIG")),
            upstream_timeout_seconds=_positive_float(env, "LUTHIEN_UPSTREAM_TIMEOUT_SECONDS", 600.0),
            shutdown_grace_seconds=_positive_int(env, "LUTHIEN_SHUTDOWN_GRACE_SECONDS", 10),
            stream_keepalive_seconds=_positive_float(env, "LUTHIEN_STREAM_KEEPALIVE_SECONDS", 5.0),
            fail_mode=cast(FailMode, _choice(env, "LUTHIEN_FAIL_MODE", "closed", ("closed", "open"))),
            hook_fast_path=_choice(env, "LUTHIEN_HOOK_FAST_PATH", "on", ("on", "off")) == "on",
            log_level=_choice(env, "LUTHIEN_LOG_LEVEL", "info", ("debug", "info", "warning", "error")),
            otel_traces_endpoint=_otlp_traces_endpoint(env),
            otel_service_name=env.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME,
            client_keys=_named_keys(env, "LUTHIEN_CLIENT_KEYS"),
            policy_watch=_choice(env, "LUTHIEN_POLICY_WATCH", "off", ("on", "off")) == "on",
        )

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields replaced (CLI flags win over the environment)."""
        values = {**self.__dict__, **{k: v for k, v in changes.items() if v is not None}}
        return Settings(**values)  # type: ignore[arg-type]


def _merged_env(environ: Mapping[str, str] | None, env_file: Path | None) -> dict[str, str]:
    file_path = env_file if env_file is not None else Path(".env")
    from_file = (
        {k: v for k, v in dotenv_values(file_path).items() if v is not None} if file_path.is_file() else {}
    )
    return resolve_aliases({**from_file, **(os.environ if environ is None else environ)})


def _database_url(raw: str | None) -> str:
    """Map user-facing URLs onto the async drivers; unset means the embedded SQLite file."""
    if not raw:
        return f"sqlite+aiosqlite:///{DEFAULT_DATA_DIR / 'luthien.db'}"
    for prefix, driver in (
        ("postgresql+asyncpg://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite+aiosqlite://", "sqlite+aiosqlite://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if raw.startswith(prefix):
            return driver + raw[len(prefix) :]
    raise SettingsError(f"DATABASE_URL must start with postgresql:// or sqlite:///, got {_scheme(raw)!r}")


def _redis_url(raw: str | None) -> str | None:
    if not raw:
        return None
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"REDIS_URL must start with redis://, rediss:// or unix://, got {_scheme(raw)!r}")
    return raw


def _http_url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name) or default
    if not raw.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must start with http:// or https://, got {_scheme(raw)!r}")
    return raw.rstrip("/")


def _otlp_traces_endpoint(env: Mapping[str, str]) -> str | None:
    """The OTLP/HTTP traces URL, by the OpenTelemetry names: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as
    it is, else `OTEL_EXPORTER_OTLP_ENDPOINT` (a collector's base URL) + `/v1/traces`."""
    names = (("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""), ("OTEL_EXPORTER_OTLP_ENDPOINT", "/v1/traces"))
    for name, suffix in names:
        if env.get(name):
            return _http_url(env, name, "") + suffix
    return None


def _scheme(url: str) -> str:
    """The part of a URL safe to echo back (never the credentials)."""
    return url.split("://", 1)[0] + "://..." if "://" in url else "<no scheme>"


def _parse(
    env: Mapping[str, str],
    name: str,
    default: T,
    convert: Callable[[str], T],
    valid: Callable[[T], bool],
    what: str,
) -> T:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = convert(raw)
    except ValueError:
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from None
    if not valid(value):
        raise SettingsError(f"{name} must be {what}, got {raw!r}")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    return _parse(env, name, default, int, lambda v: v > 0, "a positive whole number")


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    return _parse(env, name, default, float, lambda v: v > 0, "a positive number of seconds")


def _host_names(env: Mapping[str, str], name: str, forbidden: str = "") -> tuple[str, ...]:
    """A comma-separated list of host names or addresses (`host`, `host:port`, `[v6]`, `10.0.0.0/8`, `*`)."""
    names = tuple(part.strip().lower() for part in (env.get(name) or "").split(",") if part.strip())
    for part in names:
        if any(c.isspace() or c in "@?#\\" + forbidden for c in part) or "://" in part:
            raise SettingsError(f"{name} must be comma-separated host names or addresses, got {part!r}")
    return names


def _named_keys(env: Mapping[str, str], name: str) -> tuple[tuple[str, str], ...]:
    """`name=key,name2=key2`: each key's name (letters, digits, `._-`) and the key (never echoed)."""
    pairs: list[tuple[str, str]] = []
    for index, part in enumerate(p.strip() for p in (env.get(name) or "").split(",")):
        if not part:
            continue
        key_name, sep, key = part.partition("=")
        key_name, key = key_name.strip(), key.strip()
        if not sep or not key or not key_name or not all(c.isalnum() or c in "._-" for c in key_name):
            raise SettingsError(f"{name} must be comma-separated name=key pairs; entry {index + 1} is not")
        if any(key_name == known for known, _ in pairs):
            raise SettingsError(f"{name} names {key_name!r} twice")
        if any(key == known for _, known in pairs):
            raise SettingsError(f"{name}: {key_name!r} has the key of another name")
        pairs.append((key_name, key))
    return tuple(pairs)


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = (env.get(name) or default).lower()
    if raw not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return raw
