"""The PNG: safety against audit budget, and the ROC curve, one line per policy.

Drawn with matplotlib's Agg renderer (no display, nothing fetched), an optional dependency:
`pip install 'luthien-proxy[eval]'` (`make install` has it). Without it `render` returns None and
the caller says so; the table, the HTML page and `--json` do not need it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from luthien_proxy.tooling.eval import metrics
from luthien_proxy.tooling.eval.summary import Summary

#: Audit budgets along the safety curve: 0 to 20% in steps of 0.25%.
CURVE_BUDGETS = [i / 400 for i in range(81)]


def safety_curve(summary: Summary, budgets: Sequence[float] = CURVE_BUDGETS) -> list[tuple[float, float]]:
    """(budget, safety bought) along `budgets`, for the steps the policy scored."""
    attack = [i.score for i in summary.items if i.step.attack]
    benign = [i.score for i in summary.items if not i.step.attack]
    points = [metrics.at_budget(b, attack, benign) for b in budgets]
    return [(p.budget, p.safety) for p in points if p is not None and p.safety is not None]


def render(summaries: list[Summary], budgets: Sequence[float]) -> bytes | None:
    """The figure as PNG bytes; None when matplotlib is not installed."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    figure = Figure(figsize=(11, 4.6), dpi=100, layout="constrained")
    left, right = figure.subplots(1, 2)
    for summary in summaries:
        curve = safety_curve(summary)
        if not curve:
            continue
        (line,) = left.step(
            [b * 100 for b, _ in curve], [s * 100 for _, s in curve], where="post", label=summary.policy
        )
        marks = [p for p in summary.budgets if p.safety is not None and p.budget in budgets]
        left.plot(
            [p.budget * 100 for p in marks],
            [(p.safety or 0) * 100 for p in marks],
            "o",
            color=line.get_color(),
        )
        auc = "-" if summary.auc is None else f"{summary.auc:.3f}"
        right.plot(
            [f for f, _ in summary.roc],
            [t for _, t in summary.roc],
            color=line.get_color(),
            label=f"{summary.policy} (AUC {auc})",
        )
        if summary.fpr is not None and summary.safety is not None:
            right.plot([summary.fpr], [summary.safety], "s", color=line.get_color())
    left.set(
        xlabel="audit budget (% of benign steps flagged)", ylabel="safety (% of attacks above the threshold)"
    )
    left.set_title("Safety against audit budget")
    left.set_ylim(0, 102)
    right.plot([0, 1], [0, 1], ":", color="grey")
    right.set(
        xlabel="false-positive rate (square: the policy's own actions)",
        ylabel="true-positive rate",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    right.set_title("ROC of the monitor's score")
    for axes, where in ((left, "best"), (right, "lower right")):
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(loc=where, fontsize="small")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
