"""`luthien policy set FILE` / `luthien policy show`: the active policy of a running control plane,
through `PUT` / `GET /api/policy`, with the admin key (`--admin-key` or `LUTHIEN_ADMIN_KEY`). Every
failure is one line saying what is wrong, and the exit status is 1."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import httpx

from luthien_proxy.settings import Settings

TIMEOUT_S = 30.0


class PolicyCommandError(Exception):
    """What went wrong, in the one line the command prints."""


def register(commands: Any) -> None:
    parser = commands.add_parser("policy", help="show or change the active policy of a running control plane")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    set_parser = actions.add_parser("set", help="make a policy file the active policy (every instance)")
    set_parser.add_argument("file", type=Path, help="the policy YAML")
    show_parser = actions.add_parser("show", help="print the active policy's name, version and YAML")
    for sub in (set_parser, show_parser):
        sub.add_argument(
            "--url", help="the control plane (default LUTHIEN_CONTROL_PLANE_URL or http://127.0.0.1:8081)"
        )
        sub.add_argument("--admin-key", help="the admin key (default LUTHIEN_ADMIN_KEY)")
        sub.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    url = (args.url or settings.control_plane_url).rstrip("/")
    key = args.admin_key or settings.admin_key
    try:
        if args.action == "set":
            answer = set_policy(url, key, args.file)
            print(f"policy {answer['name']} version {answer['version']} active at {url}")
        else:
            answer = _call("GET", url, key)
            print(f"policy {answer['name']} version {answer['version']}")
            if answer.get("yaml"):
                print(answer["yaml"], end="" if str(answer["yaml"]).endswith("\n") else "\n")
    except PolicyCommandError as exc:
        print(f"luthien policy {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0


def set_policy(url: str, key: str | None, path: Path) -> dict[str, Any]:
    """PUT the file at `path` as the active policy; the control plane's answer."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise PolicyCommandError(f"cannot read {path}: {exc.strerror or exc}") from None
    return _call("PUT", url, key, text)


def _call(method: str, url: str, key: str | None, body: str | None = None) -> dict[str, Any]:
    headers = {"content-type": "application/yaml"} if body is not None else {}
    if key:
        headers["authorization"] = f"Bearer {key}"
    try:
        response = httpx.request(
            method, f"{url}/api/policy", content=body, headers=headers, timeout=TIMEOUT_S
        )
    except httpx.HTTPError as exc:
        raise PolicyCommandError(
            f"cannot reach the control plane at {url}: {exc or type(exc).__name__}"
        ) from None
    if response.status_code == 401:
        raise PolicyCommandError(
            "the control plane wants its admin key: pass --admin-key or set LUTHIEN_ADMIN_KEY"
        )
    if response.status_code >= 400:
        raise PolicyCommandError(f"refused ({response.status_code}): {_detail(response)}")
    try:
        answer = response.json()
    except ValueError:
        raise PolicyCommandError(f"{url} did not answer with JSON: is it a Luthien control plane?") from None
    if not isinstance(answer, dict) or "version" not in answer:
        raise PolicyCommandError(f"{url} answered without a policy version: is it a Luthien control plane?")
    return answer


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = detail if isinstance(detail, str) else response.text
    return " ".join(text.split())[:500] or response.reason_phrase
