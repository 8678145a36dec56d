"""`luthien status`: what runs where and whether it is healthy — the `luthien up` stack of this
directory (from `.luthien/stack.json`), or a deployment given `--url` and its admin key.

Exit 0 when healthy, 1 when not (or unreachable), with the reason in one line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from luthien_proxy.settings import DEFAULT_DATA_DIR, Settings
from luthien_proxy.tooling.stack.state import process_alive, read_state, state_path
from luthien_proxy.tooling.stack.status import Status, gather
from luthien_proxy.tooling.stack.status_table import render


def register(commands: Any) -> None:
    parser = commands.add_parser("status", help="what is running where, and whether it is healthy")
    parser.add_argument(
        "--url",
        help="a control plane's URL (default: the `luthien up` of this directory, else "
        "LUTHIEN_CONTROL_PLANE_URL)",
    )
    parser.add_argument("--admin-key", help="its admin key (default LUTHIEN_ADMIN_KEY)")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="seconds to wait for each answer (default %(default)s)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    admin_key = args.admin_key or settings.admin_key
    state = None if args.url else read_state(DEFAULT_DATA_DIR)
    if state is not None:
        where = state_path(DEFAULT_DATA_DIR)
        processes = [p for p in state.get("processes", []) if isinstance(p, dict)]
        control_plane = next((p for p in processes if p.get("name") == "control-plane"), {})
        source = f"luthien up, pid {state.get('pid')}, {where}"
        if not process_alive(state.get("pid")):
            status = Status(source=source, control_plane_url=str(control_plane.get("url", "")))
            status.reason = f"the luthien up of {where} (pid {state.get('pid')}) is not running"
            return _report(status, args.json)
        url = str(control_plane.get("url", settings.control_plane_url))
    else:
        processes = None
        url = (args.url or settings.control_plane_url).rstrip("/")
        source = "--url" if args.url else f"no luthien up here; LUTHIEN_CONTROL_PLANE_URL={url}"
    status = asyncio.run(gather(url, admin_key, source=source, processes=processes, timeout=args.timeout))
    return _report(status, args.json)


def _report(status: Status, as_json: bool) -> int:
    if as_json:
        print(json.dumps(status.as_json(), indent=2))
    elif not status.reachable:
        print(f"luthien: {status.reason}", file=sys.stderr)
    else:
        print(render(status))
    return 0 if status.healthy else 1
