"""`luthien_proxy.wire` is the only place the names the callback and the control plane share are spelled.

The guard reads every module under `src/` (not its docstrings) and fails when a wire value shows up
as a string or integer literal outside `wire.py`: import the constant instead of copying it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from luthien_proxy import wire
from luthien_proxy.pipeline import HOOK_RUNNERS
from tests.support.imports import loaded_modules

SRC = Path(wire.__file__).parent
#: Wire values that are also everyday words or keys (`"chunk"` is a record field too, `"reject"` a
#: decision's action): the guard cannot tell a copy from an unrelated use, so it leaves them out.
COMMON_WORDS = frozenset(
    {
        wire.LINK_STREAM_START,
        wire.LINK_STREAM_CHUNK,
        wire.LINK_STREAM_END,
        wire.DECISION_REJECT,
        wire.DOOR_LITELLM,  # also the name of the LiteLLM package and of bench targets
        wire.DOOR_NATIVE,
    }
)
#: Collections of names whose members are also ordinary field names (`"messages"`, `"authorization"`).
NOT_GUARDED = frozenset({"SECRET_NAMES", "SECRET_SUFFIXES", "CONTENT_KEYS"})


def _guarded_values() -> set[str | int]:
    values: set[str | int] = set()
    for name, value in vars(wire).items():
        if not name.isupper() or name in NOT_GUARDED:
            continue
        members = value if isinstance(value, tuple | frozenset) else (value,)
        values.update(m for m in members if isinstance(m, str | int) and not isinstance(m, bool))
    values.discard(wire.CLOSE_NORMAL)  # 1000 is also a batch size, a queue size, ms per second
    return values - COMMON_WORDS


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the string constants that are docstrings or bare-string statements."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }


def _literals(path: Path) -> Iterator[tuple[int, str | int]]:
    """(line, value) of every string and integer literal in `path`, f-string pieces included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skipped = _docstrings(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or id(node) in skipped:
            continue
        if isinstance(node.value, str | int) and not isinstance(node.value, bool):
            yield node.lineno, node.value


def test_no_wire_name_is_spelled_outside_the_wire_module() -> None:
    guarded = _guarded_values()
    copies = [
        f"{path.relative_to(SRC)}:{line}: {value!r}"
        for path in sorted(SRC.rglob("*.py"))
        if path.name != "wire.py"
        for line, value in _literals(path)
        if value in guarded
    ]
    assert copies == [], "import these from luthien_proxy.wire instead:\n" + "\n".join(copies)


def test_the_guard_sees_a_copied_name(tmp_path: Path) -> None:
    """The guard itself works: a copied header, hook, frame type or close code is found."""
    module = tmp_path / "copy.py"
    module.write_text(
        '"""Mentions x-luthien-decision in a docstring, which is fine."""\n'
        'HEADER = "x-luthien-decision"\n'
        'def f(hook):\n    return f"hook_result:{hook}", "CHUNK", 1008\n'
    )
    found = {value for _, value in _literals(module) if value in _guarded_values()}
    assert found == {wire.DECISION_HEADER, wire.RESULT_RECORD_PREFIX, wire.FRAME_CHUNK, 1008}


def test_the_hook_api_takes_exactly_the_wire_hooks() -> None:
    assert tuple(HOOK_RUNNERS) == wire.HOOKS
    assert set(wire.ANSWERED_HOOKS) <= set(wire.HOOKS) | {wire.STREAM_HOOK}


def test_the_wire_module_imports_nothing_of_the_package() -> None:
    new = loaded_modules("import luthien_proxy.wire") - {"luthien_proxy", "luthien_proxy.wire"}
    assert sorted(m for m in new if m.startswith("luthien_proxy") or m in ("orjson", "pydantic")) == []
