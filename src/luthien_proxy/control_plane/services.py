"""`ControlPlaneServices`: opens and closes the backends the control plane runs on.

Opening checks every server it was told to use (Postgres, Redis) and fails fast with a
`StartupError` whose message is one line saying what is unreachable.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from opentelemetry.trace import Tracer

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
from luthien_proxy.backends.telemetry import Telemetry
from luthien_proxy.control_plane.policy_sync import PolicySync
from luthien_proxy.doors.native.upstream import UpstreamClient
from luthien_proxy.model_routes import ModelConfigError, ModelRoutes, load_model_routes
from luthien_proxy.pipeline import CallRecorder, Pipeline
from luthien_proxy.pipeline.active_policies import ActivePolicies
from luthien_proxy.policies import LuthienPolicy, PolicyConfigError, PolicySet, load_policy_set
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
    #: Keeps the active policy in step with the other instances (`PUT /api/policy`, the watch).
    policy_sync: PolicySync
    retention: RetentionTask | None = None
    #: The app's tracer provider (none unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set).
    telemetry: Telemetry = field(default_factory=Telemetry)

    @classmethod
    async def open(
        cls, settings: Settings, policy: LuthienPolicy | PolicySet | None = None
    ) -> ControlPlaneServices:
        from_file = policy is None
        if policy is None:
            try:
                policy = load_policy_set(settings.policy_config, required=settings.policy_config_explicit)
            except PolicyConfigError as exc:
                raise StartupError(str(exc)) from None
        policy_set = policy if isinstance(policy, PolicySet) else PolicySet.of(policy)
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
        telemetry = Telemetry.from_settings(settings)

        def bind(member: LuthienPolicy) -> None:
            """What every policy this instance runs is given, hot-reloaded ones too."""
            bind_audits(member, audits)
            bind_tracer(member, telemetry.tracer)

        for member in policy_set.policies():
            bind(member)
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
            f"{policy_set.name} ({policy_set.version})",
        )
        retention = RetentionTask(store, settings.retention_days) if settings.retention_days else None
        if retention is not None:
            retention.start()
        # A replaced policy is closed once its calls are done, at the latest when they must be.
        longest_call_s = max(settings.stream_total_timeout_seconds, settings.upstream_timeout_seconds)
        pipeline = Pipeline(
            ActivePolicies(policy_set, retire_after_s=longest_call_s + 60),
            recorder,
            stream_context,
            policy_state,
            stream_idle_timeout_s=settings.stream_idle_timeout_seconds,
            stream_total_timeout_s=settings.stream_total_timeout_seconds,
            tracer=telemetry.tracer,
        )
        watch = settings.policy_config if settings.policy_watch and from_file else None
        policy_sync = PolicySync(pipeline.policies, store, bus, bind, watch=watch, from_file=from_file)
        await policy_sync.start()
        return cls(
            retention=retention,
            settings=settings,
            store=store,
            writer=writer,
            bus=bus,
            stream_context=stream_context,
            policy_state=policy_state,
            redis=redis,
            pipeline=pipeline,
            policy_sync=policy_sync,
            model_routes=model_routes,
            upstreams=UpstreamClient(settings.upstream_timeout_seconds),
            audits=audits,
            telemetry=telemetry,
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
        await self.policy_sync.close()
        await self.pipeline.policies.aclose()
        await self.upstreams.close()
        await self.stream_context.close()
        await self.writer.close()
        await self.bus.close()
        await self.redis.close()
        await self.store.close()
        if self.telemetry.enabled:
            await asyncio.to_thread(self.telemetry.shutdown)  # exports what is queued

    def trace_with(self, telemetry: Telemetry) -> None:
        """Trace through `telemetry` from now on, instead of what the settings made (tests)."""
        self.telemetry.shutdown()
        self.telemetry = telemetry
        self.pipeline.tracer = telemetry.tracer
        bind_tracer(self.pipeline.policy, telemetry.tracer)


def bind_audits(policy: LuthienPolicy, audits: AuditQueue) -> None:
    """Give the policy's host (a chain's members share it) the control plane's audit queue, unless
    whoever built the host gave it one already."""
    host = getattr(policy, "host", None)
    if isinstance(host, PolicyHost) and host.audits is None:
        host.audits = audits


def bind_tracer(policy: LuthienPolicy, tracer: Tracer) -> None:
    """Give the policy's host the app's tracer, for the spans of its judge calls."""
    host = getattr(policy, "host", None)
    if isinstance(host, PolicyHost):
        host.tracer = tracer
