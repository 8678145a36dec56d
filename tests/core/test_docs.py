"""Documentation stays true: every setting and every hook the code knows is documented."""

from __future__ import annotations

import re
from pathlib import Path

from luthien_proxy.pipeline import HOOK_RUNNERS

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_in_env_example() -> None:
    source = (ROOT / "src/luthien_proxy/settings.py").read_text()
    read = set(re.findall(r'"((?:LUTHIEN|DATABASE|REDIS|LITELLM)_[A-Z_]+)"', source))
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read, "no settings found; has settings.py moved?"
    assert read - documented == set(), "settings missing from .env.example"
    assert documented - read == set(), ".env.example documents settings the code does not read"


def test_every_hook_is_in_the_hook_api_doc() -> None:
    doc = (ROOT / "docs/hook-api.md").read_text()
    assert [hook for hook in HOOK_RUNNERS if f"`{hook}`" not in doc] == []


def test_readme_names_the_two_commands_first() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme.index("make demo") < readme.index("##", readme.index("## The two commands") + 3)
    assert "make test" in readme
