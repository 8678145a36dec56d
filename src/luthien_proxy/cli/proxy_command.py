"""`luthien proxy`: the LiteLLM proxy with the Luthien callback, offline and loopback by default."""

from __future__ import annotations

import argparse
from typing import Any

from luthien_proxy.cli.up_command import require_litellm
from luthien_proxy.doors.litellm.callback import launcher
from luthien_proxy.settings import Settings


def register(commands: Any) -> None:
    parser = commands.add_parser("proxy", help="run the LiteLLM proxy with the Luthien callback")
    launcher.build_parser(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    require_litellm()
    launcher.run(args.config, args.host, args.port, args.log_level)
    return 0
