"""Documentation stays true: every setting and every hook the code knows is documented."""

from __future__ import annotations

import re
from pathlib import Path

from luthien_proxy.pipeline import HOOK_RUNNERS

ROOT = Path(__file__).resolve().parents[2]


def _names(*paths: Path) -> set[str]:
    text = "".join(path.read_text() for path in paths)
    return set(re.findall(r'"((?:LUTHIEN|DATABASE|REDIS|LITELLM|OTEL)_[A-Z_]+)"', text))


def test_every_setting_is_in_env_example() -> None:
    user_facing = _names(
        ROOT / "src/luthien_proxy/settings.py", *(ROOT / "src/luthien_proxy/protocols").glob("*.py")
    )
    anywhere = _names(*(ROOT / "src/luthien_proxy").rglob("*.py"))
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert user_facing, "no settings found; has settings.py moved?"
    assert user_facing - documented == set(), "settings missing from .env.example"
    assert documented - anywhere == set(), ".env.example documents settings the code does not read"


def test_every_hook_is_in_the_hook_api_doc() -> None:
    doc = (ROOT / "docs/hook-api.md").read_text()
    assert [hook for hook in HOOK_RUNNERS if f"`{hook}`" not in doc] == []


def test_readme_names_the_two_commands_first() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme.index("make demo") < readme.index("##", readme.index("## The two commands") + 3)
    assert "make test" in readme
