"""`luthien soak`: many concurrent streams through each front door for minutes; see reliability/soak.py."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from luthien_proxy.settings import Settings
from luthien_proxy.tooling.reliability.soak import run_soak


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "soak", help="hold concurrent streams through both doors and check for leaks"
    )
    parser.add_argument(
        "--streams", type=int, default=200, help="concurrent streams per door (default %(default)s)"
    )
    parser.add_argument("--seconds", type=float, default=300, help="duration per door (default %(default)s)")
    parser.add_argument("--doors", default="litellm,native", help="which doors, comma-separated")
    parser.add_argument("--output", type=Path, help="also write the report here (e.g. docs/reliability.md)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    return run_soak(args.streams, args.seconds, args.doors.split(","), args.output)
