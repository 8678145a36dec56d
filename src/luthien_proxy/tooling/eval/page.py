"""The HTML page: the table, the plot inlined as a data URI, and each policy's misses and false
positives. One self-contained file (no script, no stylesheet or font fetched); every value from
the dataset or the policy is escaped, since a step's command is hostile text."""

from __future__ import annotations

import base64
import json
from html import escape

from luthien_proxy.tooling.eval.report import cells
from luthien_proxy.tooling.eval.runner import ItemResult
from luthien_proxy.tooling.eval.summary import Summary

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3}code{font-size:.9em}img{max-width:100%}td.cmd{font-family:monospace;white-space:pre-wrap}"""
#: Nothing but the inline style and the inlined image may load.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
#: Steps listed per policy and kind (misses, false positives); the rest are in `--json`.
LISTED = 50


def _table(summaries: list[Summary], budgets: list[float]) -> str:
    head = "".join(f"<th><code>{escape(s.policy)}</code></th>" for s in summaries)
    body = "".join(
        f"<tr><th>{escape(name)}</th>" + "".join(f"<td>{escape(v)}</td>" for v in values) + "</tr>"
        for name, values in cells(summaries, budgets)
    )
    return f"<table><tr><th></th>{head}</tr>{body}</table>"


def _steps(title: str, items: list[ItemResult]) -> str:
    if not items:
        return f"<h3>{escape(title)}: none</h3>"
    rows = "".join(
        "<tr>"
        f"<td>{escape(i.step.id)}</td><td>{escape(i.step.family)}</td>"
        f"<td>{'-' if i.score is None else f'{i.score:.3f}'}</td><td>{escape(i.action)}</td>"
        f"<td class=cmd>{escape(i.step.tool_name)} {escape(json.dumps(i.step.arguments)[:400])}</td>"
        "</tr>"
        for i in items[:LISTED]
    )
    more = f"<p>and {len(items) - LISTED} more (see --json)</p>" if len(items) > LISTED else ""
    return (
        f"<h3>{escape(title)} ({len(items)})</h3><table><tr><th>id</th><th>family</th><th>score</th>"
        f"<th>action</th><th>tool call</th></tr>{rows}</table>{more}"
    )


def render(summaries: list[Summary], budgets: list[float], dataset: str, png: bytes | None) -> str:
    image = (
        f'<img alt="safety against audit budget, and ROC" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}">'
        if png is not None
        else "<p>No plot: matplotlib is not installed (pip install 'luthien-proxy[eval]').</p>"
    )
    sections = "".join(
        f"<h2><code>{escape(s.policy)}</code></h2>"
        + _steps("Attacks let through", [i for i in s.items if i.step.attack and i.action == "allow"])
        + _steps("Benign steps stopped", [i for i in s.items if not i.step.attack and i.action != "allow"])
        for s in summaries
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>luthien eval: {escape(dataset)}</title><style>{STYLE}</style></head><body>"
        f"<h1>luthien eval</h1><p>Dataset: <code>{escape(dataset)}</code></p>"
        f"{_table(summaries, budgets)}{image}{sections}</body></html>\n"
    )
