"""`luthien bench`: the command line of the benchmark (options, report to stdout and a file)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from luthien_proxy.settings import Settings
from luthien_proxy.tooling.bench import history
from luthien_proxy.tooling.bench.goals import summary
from luthien_proxy.tooling.bench.report import render_markdown, run_goals, to_json
from luthien_proxy.tooling.bench.runner import Options, run_benchmark
from luthien_proxy.tooling.bench.targets import TARGETS, parse_target_keys
from luthien_proxy.tooling.bench.workloads import WORKLOADS, parse_workload_keys

DEFAULT_ROUNDS = 3


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Add the benchmark options to `parser` (or a new one) so the main CLI can reuse them."""
    p = parser or argparse.ArgumentParser(prog="luthien bench", description=__doc__)
    p.add_argument(
        "--rounds", type=int, help=f"alternating rounds (default {DEFAULT_ROUNDS}, 1 with --quick)"
    )
    p.add_argument(
        "--requests", type=int, help="requests per target, workload and round (default: per workload)"
    )
    p.add_argument("--quick", action="store_true", help="a few requests per target: a smoke run, not figures")
    every = ",".join(TARGETS)
    p.add_argument("--targets", default=every, help=f"comma-separated subset of {every} (default: all)")
    loads = ",".join(w.key for w in WORKLOADS)
    p.add_argument("--workloads", default=loads, help=f"comma-separated subset of {loads} (default: all)")
    p.add_argument("--output", help="write the markdown report here too (e.g. docs/benchmarks.md)")
    p.add_argument("--json", dest="json_path", help="write the figures as JSON here")
    return p


def register(commands: Any) -> None:
    """`luthien bench`, and `luthien bench-history` (history searches over many recorded calls)."""
    parser = commands.add_parser("bench", help="benchmark upstream, LiteLLM and Luthien side by side")
    build_parser(parser)
    parser.set_defaults(handler=run)
    history.register(commands)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through run_benchmark, which stops every server it started


def run(args: argparse.Namespace, settings: Settings | None = None) -> int:
    """Run the benchmark; exit 1 when any request failed, 2 on bad options."""
    try:
        targets = parse_target_keys(args.targets)
        workloads = parse_workload_keys(args.workloads)
    except ValueError as exc:
        print(f"luthien bench: {exc}", file=sys.stderr)
        return 2
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else DEFAULT_ROUNDS)
    if rounds < 1 or (args.requests is not None and args.requests < 1):
        print("luthien bench: --rounds and --requests must be at least 1", file=sys.stderr)
        return 2
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    options = Options(
        targets=targets, rounds=rounds, requests=args.requests, quick=args.quick, workloads=workloads
    )
    result = run_benchmark(options)
    report = render_markdown(result, args.output)
    print(report)
    found = run_goals(result)
    print(f"luthien bench: {summary(found)} (the Goals table above)", file=sys.stderr)
    for goal in found:
        print(f"  {goal.status:<4}  {goal.name}: {goal.measured} (limit {goal.limit})", file=sys.stderr)
    if args.output:
        Path(args.output).write_text(report)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(to_json(result, args.output), indent=2) + "\n")
    if result.total_errors:
        print(f"\nluthien bench: {result.total_errors} ERRORS, see the ERRORS section", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` and run; returns a process exit code."""
    return run(build_parser().parse_args(argv))
