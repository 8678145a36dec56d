"""`ControlPlaneServices`: opens and closes the backends the control plane runs on.

Opening checks every server it was told to use (Postgres, Redis) and fails fast with a
`StartupError` whose message is one line saying what is unreachable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from luthien_proxy.backends.audit import AuditQueue, InProcessAuditStorage, RedisAuditStorage
from luthien_proxy.backends.events import ConversationEvents, EventBus, InProcessBus, RedisBus
from luthien_proxy.backends.policy_state import InProcessPolicyState, PolicyState, RedisPolicyState
from luthien_proxy.backends.redis_client import RedisClientManager, RedisUnavailable
from luthien_proxy.backends.store import DebugLogStore, DebugLogWriter, StoreUnavailable
from luthien_proxy.backends.store.retention import RetentionTask
from luthien_proxy.backends.stream_context import (
    InProcessStreamContext,
    RedisStreamContext,
    StreamContextStore,
)
from luthien_proxy.doors.native.upstream import UpstreamClient
from luthien_proxy.model_routes import ModelConfigError, ModelRoutes, load_model_routes
from luthien_proxy.pipeline import CallRecorder, Pipeline
from luthien_proxy.policies import LuthienPolicy, PolicyConfigError, load_policy
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.settings import Settings

logger = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """The control plane cannot start; the message is the one line to show the operator."""


@dataclass
class ControlPlaneServices:
    """The opened backends and the pipeline built on them."""

    settings: Settings
    store: DebugLogStore
    writer: DebugLogWriter
    bus: EventBus
    stream_context: StreamContextStore
    policy_state: PolicyState
    redis: RedisClientManager
    pipeline: Pipeline
    model_routes: ModelRoutes
    upstreams: UpstreamClient
    audits: AuditQueue
    retention: RetentionTask | None = None

    @classmethod
    async def open(cls, settings: Settings, policy: LuthienPolicy | None = None) -> ControlPlaneServices:
        if policy is None:
            try:
                policy = load_policy(settings.policy_config, required=settings.policy_config_explicit)
            except PolicyConfigError as exc:
                raise StartupError(str(exc)) from None
        try:
            model_routes = load_model_routes(settings.model_config, required=settings.model_config_explicit)
        except ModelConfigError as exc:
            raise StartupError(str(exc)) from None
        redis = RedisClientManager()
        try:
            store = await DebugLogStore.open(settings.database_url)
        except StoreUnavailable as exc:
            raise StartupError(str(exc)) from None
        ttl = settings.stream_context_ttl_seconds
        bus: EventBus
        stream_context: StreamContextStore
        if settings.redis_url:
            try:
                client = await redis.get(settings.redis_url)
            except RedisUnavailable as exc:
                await store.close()
                raise StartupError(str(exc)) from None
            bus, stream_context = RedisBus(client), RedisStreamContext(client, ttl)
            policy_state: PolicyState = RedisPolicyState(client)
            audits = AuditQueue(RedisAuditStorage(client), bus)
        else:
            bus, stream_context = InProcessBus(), InProcessStreamContext(ttl)
            policy_state = InProcessPolicyState()
            audits = AuditQueue(InProcessAuditStorage(), bus)
        bind_audits(policy, audits)
        await bus.start()
        await stream_context.start()
        writer = DebugLogWriter(
            store, queue_size=settings.write_queue_size, batch_size=settings.write_batch_size
        )
        writer.start()
        recorder = CallRecorder(writer, ConversationEvents(bus))
        logger.info(
            "control plane backends: store=%s bus=%s policy=%s",
            store.backend,
            bus.backend,
            type(policy).__name__,
        )
        retention = RetentionTask(store, settings.retention_days) if settings.retention_days else None
        if retention is not None:
            retention.start()
        return cls(
            retention=retention,
            settings=settings,
            store=store,
            writer=writer,
            bus=bus,
            stream_context=stream_context,
            policy_state=policy_state,
            redis=redis,
            pipeline=Pipeline(
                policy,
                recorder,
                stream_context,
                policy_state,
                stream_idle_timeout_s=settings.stream_idle_timeout_seconds,
                stream_total_timeout_s=settings.stream_total_timeout_seconds,
            ),
            model_routes=model_routes,
            upstreams=UpstreamClient(settings.upstream_timeout_seconds),
            audits=audits,
        )

    closed: bool = False

    async def close(self) -> None:
        """Flush queued records and events, then release connections (once)."""
        if self.closed:
            return
        self.closed = True
        await self.audits.close()  # held calls fail closed and say so while the backends are up
        if self.retention is not None:
            await self.retention.close()
        await self.pipeline.policy.aclose()
        await self.upstreams.close()
        await self.stream_context.close()
        await self.writer.close()
        await self.bus.close()
        await self.redis.close()
        await self.store.close()


def bind_audits(policy: LuthienPolicy, audits: AuditQueue) -> None:
    """Give the policy's host (a chain's members share it) the control plane's audit queue, unless
    whoever built the host gave it one already."""
    host = getattr(policy, "host", None)
    if isinstance(host, PolicyHost) and host.audits is None:
        host.audits = audits
