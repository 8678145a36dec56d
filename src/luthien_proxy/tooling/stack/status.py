"""What `luthien status` finds: the control plane (its `/api/status`, or `/health` without the admin
key), the active policy (`/api/policy` when the control plane has it), and, for a `luthien up`
stack, each other child's health — reduced to healthy or not and one line saying why not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from luthien_proxy.instance_id import INSTANCE_HEADER

NEEDS_KEY = (
    "details (policy version, last error, uptime) need the admin key: --admin-key or LUTHIEN_ADMIN_KEY"
)
LABELS = {
    "control-plane": "control plane",
    "litellm-proxy": "LiteLLM proxy",
    "demo-upstream": "demo upstream",
}


@dataclass
class Check:
    """One server: where it is and whether it answered as itself."""

    name: str
    url: str
    ok: bool
    detail: str


@dataclass
class Status:
    """Everything `luthien status` reports; `reason` is None exactly when all is healthy."""

    source: str
    control_plane_url: str
    reachable: bool = False
    reason: str | None = None
    #: `/api/status` when it answered, else `/health` (fewer fields), else empty.
    control_plane: dict[str, Any] = field(default_factory=dict)
    full: bool = False
    note: str | None = None
    policy: dict[str, Any] = field(default_factory=dict)
    processes: list[Check] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.reason is None

    def as_json(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "reason": self.reason,
            "source": self.source,
            "control_plane_url": self.control_plane_url,
            "reachable": self.reachable,
            "details": "full" if self.full else self.note,
            "policy": self.policy,
            "processes": [check.__dict__ for check in self.processes],
            "control_plane": self.control_plane,
        }


def describe(exc: httpx.HTTPError, timeout: float) -> str:
    """An HTTP failure in a few words (never a traceback)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout:g}s"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({str(exc) or 'connection refused'})"
    return f"{type(exc).__name__}: {exc}"


async def gather(
    url: str,
    admin_key: str | None,
    *,
    source: str,
    processes: list[dict[str, Any]] | None = None,
    timeout: float = 5.0,
) -> Status:
    """Ask the control plane at `url` (and the other `processes` of a stack) how they are."""
    found = Status(source=source, control_plane_url=url)
    headers = {"authorization": f"Bearer {admin_key}"} if admin_key else {}
    own = {p.get("name"): p for p in processes or []}
    async with httpx.AsyncClient(timeout=timeout) as http:
        try:
            health = await http.get(f"{url}/health")
        except httpx.HTTPError as exc:
            found.reason = f"control plane {url} unreachable: {describe(exc, timeout)}"
            return found
        found.reachable = True
        body = _json(health)
        expected = own.get("control-plane", {}).get("instance")
        if expected and health.headers.get(INSTANCE_HEADER) != expected:
            found.reason = f"control plane {url}: another process answers there, not this stack's"
            return found
        if body is None or "store" not in body:
            found.reason = f"{url} does not answer like a Luthien control plane (HTTP {health.status_code})"
            return found
        found.control_plane = body
        detail = await http.get(f"{url}/api/status", headers=headers)
        if detail.status_code == 200 and (full := _json(detail)) is not None:
            found.control_plane, found.full = full, True
        else:
            found.note = NEEDS_KEY if detail.status_code == 401 else "health only (no /api/status)"
        found.policy = await _policy(http, url, headers, found.control_plane)
        found.processes.append(Check("control-plane", url, health.status_code == 200, _cp_detail(body)))
        for name, process in own.items():
            if name != "control-plane" and isinstance(name, str):
                found.processes.append(await _check(http, name, process, timeout))
    found.reason = _reason(found)
    return found


async def _policy(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    """Name and version from `/api/policy` when it answers; else what the status/health body says."""
    try:
        answer = await http.get(f"{url}/api/policy", headers=headers)
    except httpx.HTTPError:
        answer = None
    given = _json(answer) if answer is not None and answer.status_code == 200 else None
    if given is not None and isinstance(given.get("name"), str):
        return {"name": given["name"], "version": given.get("version")}
    policy = body.get("policy")
    if isinstance(policy, dict):
        return {"name": policy.get("name"), "version": policy.get("version")}
    return {"name": policy, "version": None}


async def _check(http: httpx.AsyncClient, name: str, process: dict[str, Any], timeout: float) -> Check:
    url, health_url = str(process.get("url", "")), str(process.get("health_url", ""))
    try:
        answer = await http.get(health_url)
    except httpx.HTTPError as exc:
        return Check(name, url, False, describe(exc, timeout))
    if process.get("instance") and answer.headers.get(INSTANCE_HEADER) != process["instance"]:
        return Check(name, url, False, "another process answers on its port")
    if answer.status_code != 200:
        return Check(name, url, False, f"health answers HTTP {answer.status_code}")
    return Check(name, url, True, "ok")


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        value = response.json()
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _cp_detail(body: dict[str, Any]) -> str:
    return str(body.get("status", "?"))


def _reason(found: Status) -> str | None:
    """The first thing wrong, in one line; None when nothing is."""
    body = found.control_plane
    for part in ("store", "bus"):
        section = body.get(part) or {}
        if not section.get("ok", False):
            return f"{part} ({section.get('backend', '?')}) unavailable: {section.get('error', 'no answer')}"
    queue = body.get("write_queue") or {}
    if queue.get("full"):
        return f"write queue full ({queue.get('pending')} of {queue.get('capacity')}): records are dropped"
    if body.get("status") != "ok":
        error = queue.get("last_error") or queue.get("last_set_aside_error") or "see the control plane's log"
        return f"degraded: not every record is being written ({error})"
    for check in found.processes:
        if not check.ok:
            return f"{LABELS.get(check.name, check.name)} {check.url}: {check.detail}"
    return None
