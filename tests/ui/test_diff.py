"""The word diff (diff.js) run in the browser: the edit scripts the live view highlights."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.browser import BrowserPage


@pytest.fixture
async def diff_page(ui_only: str, tab: BrowserPage) -> BrowserPage:
    """A tab on a UI page, where diff.js can be imported."""
    await tab.goto(f"{ui_only}/ui/conversation")
    return tab


async def diff(tab: BrowserPage, before: str, after: str) -> list[list[str]]:
    script = """async ([before, after]) => {
        const {diffWords} = await import("/ui/static/diff.js");
        return diffWords(before, after).map(({op, text}) => [op, text]);
    }"""
    result: Any = await tab.call(lambda p: p.evaluate(script, [before, after]))
    return result


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("", "", []),
        ("same text", "same text", [["equal", "same text"]]),
        ("", "new", [["insert", "new"]]),
        ("old", "", [["delete", "old"]]),
        (
            "The quick brown fox jumps.",
            "The quick brown cat jumps.",
            [["equal", "The quick brown "], ["delete", "fox"], ["insert", "cat"], ["equal", " jumps."]],
        ),
        (
            "keep this and drop that",
            "keep this",
            [["equal", "keep this"], ["delete", " and drop that"]],
        ),
        (
            "hello world, bye",
            "HELLO WORLD, bye",
            [["delete", "hello world"], ["insert", "HELLO WORLD"], ["equal", ", bye"]],
        ),
    ],
)
async def test_word_diff(diff_page: BrowserPage, before: str, after: str, expected: list[list[str]]) -> None:
    assert await diff(diff_page, before, after) == expected


async def test_a_huge_diff_falls_back_to_one_replacement(diff_page: BrowserPage) -> None:
    before = " ".join(f"a{n}" for n in range(3000))
    after = " ".join(f"b{n}" for n in range(3000))
    assert await diff(diff_page, f"start {before} end", f"start {after} end") == [
        ["equal", "start "],
        ["delete", before],
        ["insert", after],
        ["equal", " end"],
    ]
