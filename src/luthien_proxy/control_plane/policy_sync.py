"""`PolicySync`: one instance's active policy kept in step with every other's, through the store and
the bus.

A new policy (`PUT /api/policy`, or the watched policy file) is validated, stored durably in
`debug_logs` (`POLICY_RECORD_TYPE`: its YAML, version and base), swapped in, and announced on
`POLICY_CHANNEL`. The announcement only says "there is a newer policy": every instance reads the
newest stored one and swaps to it, so instances never disagree about which text is current, and an
announcement from another deployment sharing the Redis but not the database changes nothing.

On start an instance takes the newest stored policy when it was set over the policy file this
instance starts with (`base`); a different file (a new deploy, another `--policy`) wins over it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from luthien_proxy.backends.events import EventBus
from luthien_proxy.backends.events.bus import BusNotice
from luthien_proxy.backends.store import DebugLogStore
from luthien_proxy.backends.store.record import DebugRecord
from luthien_proxy.pipeline.active_policies import ActivePolicies
from luthien_proxy.policies import LuthienPolicy, PolicyConfigError, PolicySet, parse_policy_set
from luthien_proxy.policies.policy_set import credential_in, read_policy_text, version_of
from luthien_proxy.wire import POLICY_CHANNEL, POLICY_RECORD_TYPE

logger = logging.getLogger(__name__)

#: How often the watched policy file's modification time is looked at.
WATCH_INTERVAL_S = 1.0


@dataclass(frozen=True)
class StoredPolicy:
    """The newest policy set through the API (or the watched file), as the store keeps it."""

    version: str
    yaml: str
    base: str | None
    source: str
    set_at: str

    @classmethod
    def of(cls, record: DebugRecord) -> StoredPolicy | None:
        blob: Any = record.jsonblob
        if not isinstance(blob, dict) or not isinstance(blob.get("yaml"), str):
            return None
        return cls(
            version=str(blob.get("version")),
            yaml=blob["yaml"],
            base=blob.get("base"),
            source=str(blob.get("source")),
            set_at=str(blob.get("set_at")),
        )


class PolicySync:
    """Sets, stores, announces and follows the active policy of one instance."""

    def __init__(
        self,
        policies: ActivePolicies,
        store: DebugLogStore,
        bus: EventBus,
        bind: Callable[[LuthienPolicy], None],
        *,
        watch: Path | None = None,
        from_file: bool = True,
    ) -> None:
        self.policies = policies
        self.store = store
        self.bus = bus
        self._bind = bind
        self._watch_path = watch
        #: The version of the policy file this instance started with (or last read, watching).
        self.file_version = policies.current.version
        self.origin = secrets.token_hex(8)
        self.last_error: str | None = None
        self._from_file = from_file
        #: The newest stored policy this instance has seen (version, time set): only a newer one
        #: is followed, so an old one never replaces the start-up file's policy.
        self._seen: tuple[str, str] | None = None
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Take the stored policy set over this instance's policy file (a policy given in code is
        kept), then follow the changes announced from now on."""
        stored = await self.latest()
        if stored is not None:
            self._seen = (stored.version, stored.set_at)
            if self._from_file and stored.base == self.file_version:
                await self._adopt(stored)
        self._tasks.append(asyncio.create_task(self._follow(), name="luthien-policy-follow"))
        if self._watch_path is not None:
            watched = self._watch(self._watch_path, _mtime(self._watch_path))
            self._tasks.append(asyncio.create_task(watched, name="luthien-policy-watch"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def build(self, text: str, source: str) -> PolicySet:
        """The set `text` describes, its policies bound to this control plane; `PolicyConfigError`
        (the message says what is wrong) when it cannot run."""
        found = credential_in(text)
        if found is not None:
            raise PolicyConfigError(f"{source}: {found}; reference credentials as os.environ/NAME")
        try:
            policy_set = parse_policy_set(text, source=source)
        except PolicyConfigError:
            raise
        except Exception as exc:  # a policy constructor may fail any way it likes
            raise PolicyConfigError(f"{source}: {type(exc).__name__}: {' '.join(str(exc).split())}") from None
        for member in policy_set.policies():
            self._bind(member)
        return policy_set

    async def set(self, text: str, *, source: str, by: str = "api") -> PolicySet:
        """Validate `text`, store it, make it active here and announce it; the running policy
        stays when it is refused (`PolicyConfigError`). Setting the active text again changes nothing."""
        async with self._lock:
            if version_of(text) == self.policies.current.version:
                return self.policies.current
            policy_set = self.build(text, source)
            try:
                await self._store(policy_set, by)
            except BaseException:
                await policy_set.aclose()
                raise
            self.policies.swap(policy_set)
        self.bus.publish(
            (POLICY_CHANNEL,), orjson.dumps({"version": policy_set.version, "origin": self.origin})
        )
        logger.info("policy %s version %s active (%s)", policy_set.name, policy_set.version, by)
        return policy_set

    async def latest(self) -> StoredPolicy | None:
        records = await self.store.latest(POLICY_RECORD_TYPE, 1)
        return StoredPolicy.of(records[0]) if records else None

    async def catch_up(self) -> None:
        """Swap to the newest stored policy when it was stored since this instance last looked."""
        stored = await self.latest()
        if stored is not None and (stored.version, stored.set_at) != self._seen:
            self._seen = (stored.version, stored.set_at)
            await self._adopt(stored)

    async def _adopt(self, stored: StoredPolicy) -> None:
        async with self._lock:
            if stored.version == self.policies.current.version:
                return
            try:
                policy_set = self.build(stored.yaml, f"stored policy {stored.version}")
            except PolicyConfigError as exc:
                self.last_error = str(exc)
                logger.error("%s; keeping policy version %s", exc, self.policies.current.version)
                return
            self.policies.swap(policy_set)
        logger.info("policy %s version %s active (from the store)", policy_set.name, policy_set.version)

    async def _store(self, policy_set: PolicySet, by: str) -> None:
        now = datetime.now(UTC)
        blob = {
            "version": policy_set.version,
            "name": policy_set.name,
            "yaml": policy_set.text,
            "base": self.file_version,
            "source": by,
            "set_at": now.isoformat(),
        }
        await self.store.insert_many([DebugRecord(POLICY_RECORD_TYPE, blob, now)])
        self._seen = (policy_set.version, now.isoformat())

    async def _follow(self) -> None:
        """Catch up on every announcement from another instance, and when the bus comes back."""
        while True:
            try:
                async with self.bus.subscribe((POLICY_CHANNEL,)) as subscription:
                    await self.catch_up()  # what was announced while not subscribed
                    while True:
                        item = await subscription.next_item()
                        if isinstance(item, BusNotice):
                            if item.kind == "bus_recovered":
                                await self.catch_up()
                            continue
                        if item is not None and _origin(item) != self.origin:
                            await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store or the bus is down: try again shortly
                logger.warning("following policy changes failed: %s", exc)
                await asyncio.sleep(1.0)

    async def _watch(self, path: Path, seen: float | None) -> None:
        """Reload the policy when its file changes (its modification time, looked at once a second)."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            now = _mtime(path)
            if now == seen:
                continue
            seen = now
            try:
                text = read_policy_text(path)
                if version_of(text) == self.file_version:
                    continue
                self.file_version = version_of(text)
                await self.set(text, source=f"policy config {path}", by="file")
                self.last_error = None
            except PolicyConfigError as exc:
                self.last_error = str(exc)
                logger.error("%s; keeping policy version %s", exc, self.policies.current.version)
            except Exception as exc:
                logger.warning("reloading %s failed: %s", path, exc)


def _origin(message: bytes) -> str | None:
    try:
        decoded = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    return decoded.get("origin") if isinstance(decoded, dict) else None


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None
