"""`luthien eval --replay`: a candidate policy over calls recorded in `debug_logs`, and where its
decisions would differ from the recorded ones (tooling/eval/replay.py; docs/evaluation.md, "Replay").

Reads the database the control plane writes (`DATABASE_URL`, or `--database-url`) and never writes
to it. Exit status: 0 when no decision would change, 1 when some would, 2 on a usage or read error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from luthien_proxy.policies import PolicyHost
from luthien_proxy.settings import Settings
from luthien_proxy.tooling.eval.harness import PolicyHarness
from luthien_proxy.tooling.eval.progress import ProgressBar
from luthien_proxy.tooling.eval.recorded import SourceError, read_calls
from luthien_proxy.tooling.eval.replay import ReplayReport, replay_calls
from luthien_proxy.tooling.eval.replay_report import json_document, markdown


def moment(text: str) -> datetime:
    """An ISO 8601 time (`2026-01-31T12:00`, `2026-01-31`); one without a zone is UTC."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r} (e.g. 2026-01-31T12:00Z)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The replay mode's options of `luthien eval`."""
    group = parser.add_argument_group("replay (--replay)")
    group.add_argument(
        "--replay",
        action="store_true",
        help="run one --policy over recorded calls and list where its decisions differ",
    )
    group.add_argument(
        "--database-url", metavar="URL", help="the recorded calls' database (default: DATABASE_URL's)"
    )
    group.add_argument("--trace", metavar="ID", help="replay the calls of this trace")
    group.add_argument("--since", type=moment, metavar="ISO", help="replay calls recorded from this time")
    group.add_argument("--until", type=moment, metavar="ISO", help="... up to this time (default: now)")


def _usage_error(args: argparse.Namespace) -> str | None:
    if len(args.policy) != 1:
        return "--replay takes exactly one --policy CANDIDATE.yaml"
    if args.dataset:
        return "--replay reads recorded calls, not a --dataset"
    if bool(args.trace) == bool(args.since or args.until):
        return "--replay needs --trace ID, or --since ISO [--until ISO]"
    if args.since and args.until and args.until <= args.since:
        return "--until must be after --since"
    return None


def run(args: argparse.Namespace, settings: Settings) -> int:
    """The replay mode: read, replay, print the differences, write `--json`."""
    problem = _usage_error(args)
    if problem is not None:
        print(f"luthien eval: {problem}", file=sys.stderr)
        return 2
    # The same mapping and checks as the control plane's own DATABASE_URL.
    database_url = (
        Settings.from_env({**os.environ, "DATABASE_URL": args.database_url}).database_url
        if args.database_url
        else settings.database_url
    )
    source: dict[str, Any] = (
        {"trace": args.trace}
        if args.trace
        else {"since": args.since.isoformat(), "until": (args.until or datetime.now(UTC)).isoformat()}
    )
    try:
        report = asyncio.run(_replay(args.policy[0], database_url, args))
    except SourceError as exc:
        print(f"luthien eval: {exc}", file=sys.stderr)
        return 2
    words = f"trace {args.trace}" if args.trace else f"{source['since']} to {source['until']}"
    print(markdown(report, words))
    if args.json:
        args.json.write_text(json.dumps(json_document(report, source), indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 1 if report.differing else 0


async def _replay(policy: Path, database_url: str, args: argparse.Namespace) -> ReplayReport:
    calls = await read_calls(database_url, trace_id=args.trace, since=args.since, until=args.until)
    harness = PolicyHarness(policy, PolicyHost.from_process())
    bar = ProgressBar(f"replay {policy}")
    try:
        return await replay_calls(harness, calls, progress=bar)
    finally:
        bar.finish()
        await harness.aclose()
