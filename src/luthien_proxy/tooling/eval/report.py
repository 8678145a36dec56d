"""The evaluation as a Markdown table (policies side by side) and as the `--json` document.

`--json` holds, per policy, `{"policy", "safety", "usefulness", "auc", ..., "items": [{"id",
"score", "action", ...}]}`: the object itself for one policy, a list of them in `--policy` order
for several (docs/evaluation.md).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from luthien_proxy.tooling.eval.metrics import BudgetPoint
from luthien_proxy.tooling.eval.summary import Summary

Row = tuple[str, Callable[[Summary], str]]


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _count(share: float | None, total: int) -> str:
    return "-" if share is None else f"{percent(share)} ({round(share * total)}/{total})"


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _at(summary: Summary, budget: float) -> BudgetPoint | None:
    return next((p for p in summary.budgets if p.budget == budget), None)


def _budget_safety(summary: Summary, budget: float) -> str:
    point = _at(summary, budget)
    return percent(point.safety) if point else "-"


def _budget_threshold(summary: Summary, budget: float) -> str:
    point = _at(summary, budget)
    if point is None:
        return "-"
    return "all" if point.threshold is None else _number(point.threshold)


def _budget_rows(budgets: list[float]) -> list[Row]:
    rows: list[Row] = []
    for budget in budgets:
        label = f"{100 * budget:g}% audit budget"
        rows.append((f"safety at {label}", partial(_budget_safety, budget=budget)))
        rows.append((f"threshold at {label}", partial(_budget_threshold, budget=budget)))
    return rows


def _latency(summary: Summary) -> str:
    shown = f"{_number(summary.latency_p50_ms, 1)} / {_number(summary.latency_p95_ms, 1)}"
    return shown if summary.concurrency == 1 else f"{shown} ({summary.concurrency} in flight)"


def _tokens(summary: Summary) -> str:
    if summary.judge_tokens is None:
        return "not reported"
    return f"{summary.judge_tokens / summary.steps:.0f}" if summary.steps else "0"


def _family(summary: Summary, family: str) -> str:
    stopped, total = summary.families.get(family, (0, 0))
    return f"{stopped}/{total}" if total else "-"


def cells(summaries: list[Summary], budgets: list[float]) -> list[tuple[str, list[str]]]:
    """The table's rows: a figure's name and its value for each policy, then each attack family's
    stopped/attacks."""
    rows: list[Row] = [
        ("steps (attacks / benign)", lambda s: f"{s.steps} ({s.attacks} / {s.benign})"),
        ("safety (attacks stopped)", lambda s: _count(s.safety, s.attacks)),
        ("usefulness (benign released)", lambda s: _count(s.usefulness, s.benign)),
        ("false-positive rate", lambda s: _count(s.fpr, s.benign)),
        ("ROC AUC of the score", lambda s: _number(s.auc)),
        *_budget_rows(budgets),
        ("latency per step p50 / p95 (ms)", _latency),
        ("judge tokens per step", _tokens),
        ("judge errors / step errors", lambda s: f"{s.judge_errors} / {s.errors}"),
    ]
    families = sorted({f for s in summaries for f in s.families})
    rows += [(f"stopped: {family}", partial(_family, family=family)) for family in families]
    return [(name, [render(s) for s in summaries]) for name, render in rows]


def table(summaries: list[Summary], budgets: list[float]) -> str:
    """The Markdown table: one column per policy, one row per figure."""
    lines = [
        "| | " + " | ".join(f"`{s.policy}`" for s in summaries) + " |",
        "|---|" + "---|" * len(summaries),
    ]
    lines += [f"| {name} | " + " | ".join(values) + " |" for name, values in cells(summaries, budgets)]
    return "\n".join(lines)


def document(summary: Summary, dataset: str) -> dict[str, Any]:
    """One policy's `--json` object."""
    return {
        "policy": summary.policy,
        "dataset": dataset,
        "steps": summary.steps,
        "attacks": summary.attacks,
        "benign": summary.benign,
        "safety": summary.safety,
        "usefulness": summary.usefulness,
        "fpr": summary.fpr,
        "auc": summary.auc,
        "budgets": [
            {"budget": p.budget, "threshold": p.threshold, "fpr": p.fpr, "safety": p.safety}
            for p in summary.budgets
        ],
        "families": {
            family: {"stopped": stopped, "attacks": total}
            for family, (stopped, total) in summary.families.items()
        },
        "latency_ms": {
            "p50": summary.latency_p50_ms,
            "p95": summary.latency_p95_ms,
            "concurrency": summary.concurrency,
        },
        "judge_tokens": summary.judge_tokens,
        "judge_errors": summary.judge_errors,
        "errors": summary.errors,
        "roc": [list(point) for point in summary.roc],
        "items": [
            {
                "id": item.step.id,
                "label": item.step.label,
                "family": item.step.family,
                "score": item.score,
                "action": item.action,
                "latency_ms": round(item.latency_ms, 3),
                "judge_tokens": item.judge_tokens,
                "error": item.error,
            }
            for item in summary.items
        ],
    }


def json_document(summaries: list[Summary], dataset: str) -> dict[str, Any] | list[dict[str, Any]]:
    """The `--json` content: one policy's object, or a list of them for several."""
    documents = [document(s, dataset) for s in summaries]
    return documents[0] if len(documents) == 1 else documents
