"""`luthien demo-upstream`: the deterministic OpenAI-compatible model server shipped for demos and tests."""

from __future__ import annotations

import argparse
from typing import Any

from luthien_proxy.settings import Settings
from luthien_proxy.tooling.demo_upstream import server


def register(commands: Any) -> None:
    parser = commands.add_parser("demo-upstream", help="run the demo model server (no keys, no network)")
    server.build_parser(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    return server.run_from_args(args)
