"""The shipped protocol examples load as policies, and bad configs fail with a clear ValueError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from luthien_proxy.policies import PolicyConfigError, load_policy
from luthien_proxy.protocols import (
    ChainPolicy,
    DeferToResamplePolicy,
    DeferToTrustedPolicy,
    ToolCallRulesPolicy,
    TrustedEditingPolicy,
    TrustedMonitoringPolicy,
)
from tests.protocols.conftest import offline_host

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "protocols"
EXPECTED = {
    "trusted_monitoring.yaml": TrustedMonitoringPolicy,
    "defer_to_trusted.yaml": DeferToTrustedPolicy,
    "trusted_editing.yaml": TrustedEditingPolicy,
    "defer_to_resample.yaml": DeferToResamplePolicy,
    "rules_then_monitoring.yaml": ChainPolicy,
}


def test_every_example_is_covered() -> None:
    assert {p.name for p in EXAMPLES.glob("*.yaml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_examples_load(name: str) -> None:
    # `luthien up` validates the policy before the demo upstream's address is known.
    assert isinstance(load_policy(EXAMPLES / name, host=offline_host()), EXPECTED[name])


@pytest.mark.parametrize(
    ("cls", "config", "message"),
    [
        (TrustedMonitoringPolicy, {"threshold": 2}, "threshold"),
        (TrustedMonitoringPolicy, {"monitor": {"on_judge_error": "maybe"}}, "on_judge_error"),
        (TrustedMonitoringPolicy, {"escalation": {"after_total": 1}}, "escalation"),
        (TrustedMonitoringPolicy, {"alerts": {"webhooks": "http://x"}}, "webhooks"),
        (DeferToResamplePolicy, {"samples": 0}, "samples"),
        (DeferToResamplePolicy, {"fallback": "pray"}, "fallback"),
        (DeferToResamplePolicy, {"untrusted": {"base_url": "http://x"}}, "untrusted"),
        (TrustedEditingPolicy, {"trusted": {"edit_prompt": "no placeholder"}}, "edit_prompt"),
        (ToolCallRulesPolicy, {"rules": []}, "rules"),
    ],
)
def test_bad_config_is_rejected(cls: type, config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cls(**config, host=offline_host())


def test_chain_reports_the_bad_member(tmp_path: Path) -> None:
    path = tmp_path / "chain.yaml"
    path.write_text(
        'policy:\n  class: "luthien_proxy.protocols:ChainPolicy"\n  config:\n    policies:\n'
        '      - class: "luthien_proxy.protocols:TrustedMonitoringPolicy"\n        config: {threshold: 5}\n'
    )
    with pytest.raises(PolicyConfigError, match=r"chain entry 0.*threshold"):
        load_policy(path)
