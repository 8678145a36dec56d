"""`luthien up --demo` as a user runs it, for end-to-end tests (the product's own launcher)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from luthien_proxy.tooling.stack.running import Stack as RunningStack
from luthien_proxy.tooling.stack.running import luthien_up as _luthien_up

REPO = Path(__file__).resolve().parents[2]
#: The policy of the LiteLLM door's dialect tests: a tool-call rule, then AllCaps.
BLOCK = "[luthien] blocked: a safety rule matched this tool call."
POLICING = f"""\
policy:
  class: "luthien_proxy.protocols:ChainPolicy"
  config:
    policies:
      - class: "luthien_proxy.protocols:ToolCallRulesPolicy"
        config: {{block_message: "{BLOCK}"}}   # default rules: rm -rf /, /etc/, ~/.ssh
      - class: "luthien_proxy.policies.all_caps:AllCapsPolicy"
        config: {{}}
"""

__all__ = ["BLOCK", "POLICING", "REPO", "RunningStack", "luthien_up"]


@contextlib.contextmanager
def luthien_up(
    workdir: Path, policy: str | None = None, env: Mapping[str, str] | None = None
) -> Iterator[RunningStack]:
    """The stack with a policy from `config/` (by file name) and the repository's LiteLLM config."""
    with _luthien_up(
        workdir, REPO / "config" / policy if policy else None, REPO / "config" / "litellm_config.yaml", env
    ) as stack:
        yield stack
