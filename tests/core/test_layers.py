"""The layout is the architecture: each layer of `luthien_proxy` imports only layers below it — no
arrow back up and no cycle, not even under `TYPE_CHECKING` or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import luthien_proxy

ROOT = Path(luthien_proxy.__file__).parent
#: Top-level modules and packages of `luthien_proxy`, lowest layer first; one layer per line.
LAYERS: list[set[str]] = [
    {"env_aliases"},
    {"wire", "model", "settings", "config_values", "http_client", "instance_id"},
    {"call_scope", "redaction", "dialects", "backends", "model_routes", "web"},
    {"policies"},
    {"protocols", "pipeline"},
    {"doors", "read"},
    {"control_plane"},
    {"tooling"},
    {"cli"},
    {"__main__"},
]
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}
#: The callback runs inside LiteLLM: it may import only the bottom layer of ours (stdlib-cheap, no
#: FastAPI app, no database) and itself.
CALLBACK_MAY_IMPORT = LAYERS[0] | LAYERS[1] | {"call_scope", "redaction", "doors"}


def _imports(path: Path) -> set[str]:
    """The top-level `luthien_proxy` names `path` imports, wherever the import statement sits."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "luthien_proxy":
                if len(parts) > 1:
                    names.add(parts[1])
                else:
                    names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "luthien_proxy" and len(parts) > 1:
                    names.add(parts[1])
    return names


def _top(path: Path) -> str:
    return path.relative_to(ROOT).parts[0].removesuffix(".py")


def test_every_top_level_name_has_a_layer() -> None:
    tops = {_top(p) for p in ROOT.rglob("*.py")} - {"__init__"}
    assert tops - RANK.keys() == set(), "give each new package a layer in LAYERS"


def test_no_module_imports_a_layer_above_or_beside_its_own() -> None:
    wrong: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        own = _top(path)
        if own == "__init__":
            continue
        for name in _imports(path) - {own, "__version__"}:
            if RANK[name] >= RANK[own]:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_the_callback_inside_litellm_imports_only_the_wire_names() -> None:
    callback = ROOT / "doors" / "litellm" / "callback"
    wrong = [
        f"{p.relative_to(ROOT)} imports {name}"
        for p in sorted(callback.rglob("*.py"))
        for name in _imports(p) - CALLBACK_MAY_IMPORT
    ]
    assert wrong == []
    reached = {
        f"{p.relative_to(ROOT)}: {node.module}"
        for p in sorted(callback.rglob("*.py"))
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("luthien_proxy.doors")
        and not (node.module or "").startswith("luthien_proxy.doors.litellm.callback")
    }
    assert reached == set(), "the callback must not load the control-plane side of the door"
