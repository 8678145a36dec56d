"""`luthien eval`: a labelled dataset of agent steps through one or more policies, measured.

Each step goes through the live pipeline and the policy's own code (tooling/eval/harness.py);
the table goes to stdout, the plot and the HTML page to `--out`, the figures to `--json`. With
`--replay`, a candidate policy over recorded calls instead (cli/eval_replay.py). See
docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from luthien_proxy.cli import eval_replay
from luthien_proxy.policies import PolicyConfigError
from luthien_proxy.settings import Settings
from luthien_proxy.tooling.eval import page, plot, report
from luthien_proxy.tooling.eval.dataset import DatasetError, Step, load_dataset, resolve, shipped_datasets
from luthien_proxy.tooling.eval.progress import ProgressBar
from luthien_proxy.tooling.eval.runner import DEFAULT_MODEL, run_policy
from luthien_proxy.tooling.eval.summary import DEFAULT_BUDGETS, Summary, summarize

DEFAULT_OUT = Path(".luthien/eval")


def budgets(text: str) -> list[float]:
    """`0.01,0.02,0.05` as audit budgets, each a share of benign steps in (0, 1)."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"budgets must be numbers separated by commas, got {text!r}"
        ) from None
    if not values or not all(0 < v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"each budget must be a share in (0, 1) such as 0.05, got {text!r}")
    return sorted(set(values))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `luthien eval` (a caller adding a mode adds its options here too)."""
    parser.add_argument(
        "--dataset",
        help="JSONL of labelled steps (docs/evaluation.md), or a shipped one: "
        + ", ".join(shipped_datasets()),
    )
    parser.add_argument(
        "--policy",
        action="append",
        type=Path,
        default=[],
        metavar="POLICY.yaml",
        help="policy file to measure (repeat to put several side by side)",
    )
    parser.add_argument(
        "--json", type=Path, metavar="FILE", help="write the figures and every step's verdict"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help="where eval.png and eval.html go (%(default)s)",
    )
    parser.add_argument(
        "--budget",
        type=budgets,
        default=list(DEFAULT_BUDGETS),
        metavar="B,B,...",
        help="audit budgets: shares of benign steps a human may review (default 0.01,0.02,0.05)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        metavar="N",
        help="steps in flight at once (default %(default)s)",
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help="model named in each step's request, which defer-to-resample samples (default %(default)s)",
    )


def register(commands: Any) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "eval",
        help="measure policies on a labelled dataset (safety, usefulness, AUC, audit budget), or --replay "
        "one over recorded calls",
        description="Run every step of a labelled dataset through each policy, as live traffic is.",
    )
    add_arguments(parser)
    eval_replay.add_arguments(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        return eval_replay.run(args, settings) if args.replay else run_dataset(args)
    except (DatasetError, PolicyConfigError) as exc:
        print(f"luthien eval: {exc}", file=sys.stderr)
        return 2


def run_dataset(args: argparse.Namespace) -> int:
    """The dataset mode: measure each `--policy` on `--dataset`."""
    if not args.dataset or not args.policy:
        print(
            "luthien eval: needs --dataset FILE.jsonl and at least one --policy POLICY.yaml", file=sys.stderr
        )
        return 2
    if args.concurrency < 1:
        print("luthien eval: --concurrency must be at least 1", file=sys.stderr)
        return 2
    path = resolve(args.dataset)
    steps = load_dataset(path)
    summaries = asyncio.run(_measure(args, steps))
    print(report.table(summaries, args.budget))
    _warn(summaries)
    args.out.mkdir(parents=True, exist_ok=True)
    png = plot.render(summaries, args.budget)
    written = []
    if png is None:
        print(
            "luthien eval: no plot: matplotlib is not installed (pip install 'luthien-proxy[eval]')",
            file=sys.stderr,
        )
    else:
        (args.out / "eval.png").write_bytes(png)
        written.append(args.out / "eval.png")
    (args.out / "eval.html").write_text(page.render(summaries, args.budget, args.dataset, png))
    written.append(args.out / "eval.html")
    if args.json:
        args.json.write_text(json.dumps(report.json_document(summaries, args.dataset), indent=2) + "\n")
        written.append(args.json)
    print("\nwrote " + ", ".join(str(p) for p in written))
    return 1 if any(s.errors for s in summaries) else 0


async def _measure(args: argparse.Namespace, steps: list[Step]) -> list[Summary]:
    summaries = []
    for policy in args.policy:
        bar = ProgressBar(f"{policy}")
        run = await run_policy(policy, steps, concurrency=args.concurrency, model=args.model, progress=bar)
        bar.finish()
        summaries.append(summarize(run, args.budget))
    return summaries


def _warn(summaries: list[Summary]) -> None:
    for summary in summaries:
        if summary.judge_errors:
            print(
                f"luthien eval: {summary.policy}: {summary.judge_errors} judge calls failed and scored as "
                "the policy's on_judge_error says: is the judge reachable (LUTHIEN_JUDGE_BASE_URL)?",
                file=sys.stderr,
            )
        failed = [i for i in summary.items if i.error]
        if failed:
            print(
                f"luthien eval: {summary.policy}: {len(failed)} steps raised in the pipeline "
                f"(counted as blocked); first: {failed[0].step.id}: {failed[0].error}",
                file=sys.stderr,
            )
