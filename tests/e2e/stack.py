"""`luthien up --demo` as a user runs it, for end-to-end tests (the product's own launcher)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from luthien_proxy.tooling.stack.running import Stack as RunningStack
from luthien_proxy.tooling.stack.running import luthien_up as _luthien_up

REPO = Path(__file__).resolve().parents[2]

__all__ = ["REPO", "RunningStack", "luthien_up"]


@contextlib.contextmanager
def luthien_up(
    workdir: Path, policy: str | None = None, env: Mapping[str, str] | None = None
) -> Iterator[RunningStack]:
    """The stack with a policy from `config/` (by file name) and the repository's LiteLLM config."""
    with _luthien_up(
        workdir, REPO / "config" / policy if policy else None, REPO / "config" / "litellm_config.yaml", env
    ) as stack:
        yield stack
