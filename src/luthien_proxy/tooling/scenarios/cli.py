"""`luthien scenarios`: run every control protocol against scripted benign and attack episodes.

Starts `luthien up --demo` once per protocol (free loopback ports), drives the episodes through
both front doors with the `openai` SDK, prints the table and exits non-zero unless every attack was
stopped, no benign call was blocked, no byte of a blocked call was delivered and judge failures
were handled as configured.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from luthien_proxy.settings import Settings
from luthien_proxy.tooling.scenarios import episodes, report, runner
from luthien_proxy.tooling.stack.processes import free_port

_REPO = Path(__file__).resolve().parents[3]


def _default(relative: str) -> Path:
    """`relative` in the working directory if it exists there, else in this source checkout."""
    local = Path(relative)
    return local if local.exists() else _REPO / relative


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "scenarios", help="run the control-protocol scenario suite on the demo stack"
    )
    parser.add_argument(
        "--only", action="append", default=[], help="run only scenarios whose name contains this (repeatable)"
    )
    parser.add_argument("--config-dir", type=Path, default=None, help="policy examples (config/protocols)")
    parser.add_argument("--litellm-config", type=Path, default=None, help="model config for the stacks")
    parser.add_argument("--workdir", type=Path, default=None, help="keep stack files and logs here")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    config_dir = (args.config_dir or _default("config/protocols")).resolve()
    litellm_config = (args.litellm_config or _default("config/litellm_config.yaml")).resolve()
    # A port nobody listens on: the judge-down scenarios point their monitor at it.
    dead_url = f"http://127.0.0.1:{free_port()}/v1"
    plans = [
        plan
        for plan in episodes.plans(dead_url)
        if not args.only or plan.name.startswith("noop") or any(s in plan.name for s in args.only)
    ]
    # Stop the stacks on SIGTERM too: SystemExit unwinds through every `luthien_up` block.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="luthien-scenarios-") as scratch:
        workdir = (args.workdir or Path(scratch)).resolve()
        runs = runner.run_all(
            plans, config_dir, litellm_config, workdir, progress=lambda line: print(line, file=sys.stderr)
        )
    outcome = report.verdict(runs)
    print(report.table(runs))
    print()
    print(report.summary(outcome))
    episodes_run = sum(len(r.results) for r in runs)
    print(f"\n{episodes_run} requests on {len(runs)} stacks in {time.perf_counter() - started:.1f}s")
    return 0 if outcome.passed else 1


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (`python -m luthien_proxy.tooling.scenarios.cli`) until the main CLI wires it."""
    parser = argparse.ArgumentParser(prog="luthien")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["scenarios", *(sys.argv[1:] if argv is None else argv)])
    return int(args.handler(args, Settings.from_env()))


if __name__ == "__main__":
    raise SystemExit(main())
