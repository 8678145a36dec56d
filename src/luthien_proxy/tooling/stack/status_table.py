"""`luthien status` for people: a short table of what runs where and how it is."""

from __future__ import annotations

from typing import Any

from luthien_proxy.tooling.stack.status import LABELS, Status


def render(status: Status) -> str:
    body = status.control_plane
    head = "Luthien is healthy" if status.healthy else f"Luthien is UNHEALTHY: {status.reason}"
    rows: list[tuple[str, str, str]] = []
    for check in status.processes:
        extra = _instance(body) if check.name == "control-plane" else ""
        rows.append((LABELS.get(check.name, check.name), check.url, f"{check.detail}{extra}"))
    for part in ("store", "bus"):
        section: dict[str, Any] = body.get(part) or {}
        where = f"{section.get('backend', '?')}  {section.get('location', '')}".rstrip()
        rows.append((part, where, "ok" if section.get("ok") else f"DOWN: {section.get('error', '?')}"))
    policy = status.policy
    version = f"version {policy['version']}" if policy.get("version") else "version unknown"
    rows.append(("policy", str(policy.get("name") or "?"), version))
    queue: dict[str, Any] = body.get("write_queue") or {}
    rows.append(
        (
            "write queue",
            f"{queue.get('pending', '?')} pending of {queue.get('capacity', '?')}",
            f"{queue.get('written', '?')} written, {queue.get('dropped', '?')} dropped",
        )
    )
    if status.full:
        error = body.get("last_error")
        rows.append(("last error", _last_error(error), ""))
    width = max(len(url) for _, url, _ in rows)
    lines = [f"{head}   ({status.source})"]
    lines += [f"  {name:<14} {url:<{width}}  {state}".rstrip() for name, url, state in rows]
    if status.note:
        lines.append(f"  ({status.note})")
    return "\n".join(lines)


def _instance(body: dict[str, Any]) -> str:
    if "instance_id" not in body:
        return ""
    uptime = _duration(body.get("uptime_seconds"))
    return f"  (instance {body['instance_id']}, v{body.get('version')}, up {uptime})"


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "?"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def _last_error(error: Any) -> str:
    if not isinstance(error, dict):
        return "none"
    count = f" ({error['count']} so far)" if error.get("count", 1) > 1 else ""
    return f"{error.get('at')} {error.get('logger')}: {error.get('message')}{count}"
