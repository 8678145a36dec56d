"""`luthien`: one entry point, a subcommand per job. Errors are one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from luthien_proxy import __version__
from luthien_proxy.cli import (
    demo_upstream_command,
    eval_command,
    migrate_command,
    policy_command,
    proxy_command,
    prune_command,
    serve_command,
    soak_command,
    status_command,
    up_command,
)
from luthien_proxy.control_plane import StartupError
from luthien_proxy.policies import PolicyConfigError
from luthien_proxy.settings import Settings, SettingsError
from luthien_proxy.tooling.bench import cli as bench_cli
from luthien_proxy.tooling.scenarios import cli as scenarios_cli

Command = Callable[[argparse.Namespace, Settings], int]


class _Parser(argparse.ArgumentParser):
    """A usage error is one line naming the argument, like every other error (the default
    prints the whole usage first, several lines for `luthien up`). Subcommands inherit it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="luthien", description="Luthien AI-control proxy.")
    parser.add_argument("--version", action="version", version=f"luthien {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up_command.register(commands)
    status_command.register(commands)
    serve_command.register(commands)
    proxy_command.register(commands)
    demo_upstream_command.register(commands)
    migrate_command.register(commands)
    prune_command.register(commands)
    policy_command.register(commands)
    soak_command.register(commands)
    bench_cli.register(commands)
    scenarios_cli.register(commands)
    eval_command.register(commands)
    return parser


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", stream=sys.stderr
    )
    # One line per outgoing request is noise, not information.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command: Command = args.handler
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level)
        return command(args, settings)
    except SettingsError as exc:
        print(f"luthien: configuration error: {exc}", file=sys.stderr)
        return 2
    except (StartupError, PolicyConfigError) as exc:
        print(f"luthien: cannot start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
