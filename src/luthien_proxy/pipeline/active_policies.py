"""`ActivePolicies`: the policy set calls run on now, and the policy each call in flight started with.

A call's policy is chosen once, when it starts (`start`): the current set's rule for the call's
facts. Its later steps (the response, the stream, the failure) reuse that choice, so a call that
began before a change (`swap`) finishes on the policy it started with. A set replaced by `swap` is
closed once no call in flight still holds it, or after `retire_after_s` whatever happens (a call
whose end never came), never while a call it started is still running within that bound — and not
before `KNOWN_GRACE_S`: a LiteLLM callback that had not yet heard of the change names the version it
acted on (`known`), and its calls start on that version while it is kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any, cast

from luthien_proxy.policies import LuthienPolicy
from luthien_proxy.policies.policy_set import CallFacts, PolicySet, Selection

logger = logging.getLogger(__name__)

#: Calls whose choice is kept until they end; beyond it the oldest are forgotten (a call whose end
#: never comes must not hold memory for ever), as the recorder bounds its tallies.
PINNED_CALLS = 10_000
#: How long a replaced set stays open for calls a LiteLLM callback started under it before it heard
#: of the change (its next POLICY frame is normally milliseconds away; a report may wait in its queue).
KNOWN_GRACE_S = 60.0

Listener = Callable[[PolicySet, PolicySet], None]


class ActivePolicies:
    """The current `PolicySet`, the choices of the calls in flight, and the sets being retired."""

    def __init__(
        self,
        initial: PolicySet | LuthienPolicy,
        *,
        retire_after_s: float = 1800.0,
        known_grace_s: float = KNOWN_GRACE_S,
    ) -> None:
        self.current = initial if isinstance(initial, PolicySet) else PolicySet.of(initial)
        self.retire_after_s = retire_after_s
        self.known_grace_s = known_grace_s
        self._pins: OrderedDict[str, Selection] = OrderedDict()
        self._holders: Counter[str] = Counter()
        self._retiring: dict[str, PolicySet] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._listeners: list[Listener] = []
        #: Replaced sets still within `KNOWN_GRACE_S` of their replacement.
        self._graced: set[str] = set()

    def start(self, call_id: str | None, facts: CallFacts, known: Any = None) -> Selection:
        """The policy of a call starting now (or the one it already started with): chosen in the
        set of version `known` when the caller acted on that one and it is kept, else the current."""
        if not call_id:
            return self._set_of(known).select(facts)
        pinned = self._pins.get(call_id)
        if pinned is not None:
            return pinned
        chosen = self._set_of(known).select(facts)
        self._pin(call_id, chosen)
        return chosen

    def _set_of(self, known: Any) -> PolicySet:
        if isinstance(known, str) and known != self.current.version:
            return self._retiring.get(known, self.current)
        return self.current

    def _pin(self, call_id: str, chosen: Selection) -> None:
        self._pins[call_id] = chosen
        self._holders[chosen.version] += 1
        if len(self._pins) > PINNED_CALLS:
            _, forgotten = self._pins.popitem(last=False)
            self._let_go(forgotten.version)

    def adopt(self, call_id: str, shared: Any) -> Selection | None:
        """Pin a call that started on another instance to the choice made there (`Selection.record`,
        shared through the policy state), when this instance has that version; None otherwise."""
        if not isinstance(shared, dict) or call_id in self._pins:
            return self._pins.get(call_id)
        found = cast("dict[str, Any]", shared)
        version, name, rule = found.get("version"), found.get("name"), found.get("rule")
        for policy_set in (self.current, *self._retiring.values()):
            if policy_set.version == version and isinstance(name, str) and name in policy_set.members:
                chosen = Selection(policy_set.members[name], name, policy_set.version, str(rule))
                self._pin(call_id, chosen)
                return chosen
        return None

    def pinned(self, call_id: str) -> bool:
        """Whether the call started here (its choice is known)."""
        return call_id in self._pins

    def of(self, call_id: str | None, facts: CallFacts, known: Any = None) -> Selection:
        """The policy a call started with; a call never started here gets the choice `start` would
        make (not pinned)."""
        pinned = self._pins.get(call_id) if call_id else None
        return pinned if pinned is not None else self._set_of(known).select(facts)

    def end(self, call_id: str | None) -> None:
        """The call is over: forget its choice (its set may now be closed)."""
        pinned = self._pins.pop(call_id, None) if call_id else None
        if pinned is not None:
            self._let_go(pinned.version)

    def in_flight(self, version: str) -> int:
        """How many calls started on the set of `version` are still running."""
        return self._holders[version]

    def on_change(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(old, new)` after each swap; returns what removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def swap(self, new: PolicySet) -> PolicySet:
        """Make `new` the set calls start on from now; returns the set it replaced. Calls in flight
        keep theirs; the old set is closed when the last of them ends."""
        old, self.current = self.current, new
        if old is not new:
            self._retiring[old.version] = old
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop: closed by `aclose`
                pass
            else:
                self._timers[old.version] = loop.call_later(self.retire_after_s, self._close, old.version)
                if self.known_grace_s > 0:  # for callbacks that act on it still
                    self._graced.add(old.version)
                    grace = min(self.known_grace_s, self.retire_after_s)
                    loop.call_later(grace, self._end_grace, old.version)
            self._let_go(old.version, hold=0)
            for listener in list(self._listeners):
                try:
                    listener(old, new)
                except Exception:
                    logger.exception("a policy-change listener failed")
        return old

    def _let_go(self, version: str, hold: int = 1) -> None:
        self._holders[version] -= hold
        if self._holders[version] <= 0:
            del self._holders[version]
            self._close_if_unused(version)

    def _end_grace(self, version: str) -> None:
        self._graced.discard(version)
        self._close_if_unused(version)

    def _close_if_unused(self, version: str) -> None:
        unused = version not in self._holders and version not in self._graced
        if unused and version in self._retiring and version != self.current.version:
            self._close(version)

    def _close(self, version: str) -> None:
        retired = self._retiring.pop(version, None)
        timer = self._timers.pop(version, None)
        if timer is not None:
            timer.cancel()
        if retired is None or retired is self.current:
            return
        try:
            task = asyncio.get_running_loop().create_task(_close_quietly(retired))
        except RuntimeError:
            return
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        """Close the current set and every one still retiring (shutdown)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        retiring, self._retiring = list(self._retiring.values()), {}
        for policy_set in [self.current, *retiring]:
            await _close_quietly(policy_set)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


async def _close_quietly(policy_set: PolicySet) -> None:
    try:
        await policy_set.aclose()
    except Exception:
        logger.exception("closing policy %s (version %s) failed", policy_set.name, policy_set.version)
