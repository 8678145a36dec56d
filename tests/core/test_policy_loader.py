"""Policy loading from YAML: every shipped config loads; every kind of mistake is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from luthien_proxy.policies import (
    AllCapsPolicy,
    BufferedStreamPolicy,
    DropChunksPolicy,
    NoOpPolicy,
    PolicyConfigError,
    RequestBlocklistPolicy,
    StreamingSeparatorPolicy,
    load_policy,
)
from luthien_proxy.protocols import TrustedMonitoringPolicy

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("luthien_config.yaml", NoOpPolicy),
        ("all_caps.yaml", AllCapsPolicy),
        ("streaming_separator.yaml", StreamingSeparatorPolicy),
        ("buffered.yaml", BufferedStreamPolicy),
        ("drop_chunks.yaml", DropChunksPolicy),
        ("blocklist.yaml", RequestBlocklistPolicy),
        ("tool_guard.yaml", TrustedMonitoringPolicy),
    ],
)
def test_shipped_configs_load(file: str, expected: type) -> None:
    assert type(load_policy(CONFIG_DIR / file)) is expected


def test_config_is_passed_to_the_constructor() -> None:
    policy = load_policy(CONFIG_DIR / "streaming_separator.yaml")
    assert isinstance(policy, StreamingSeparatorPolicy)
    assert (policy.every_n, policy.separator_str) == (2, " | ")


def test_missing_default_file_means_noop(tmp_path: Path) -> None:
    assert type(load_policy(tmp_path / "absent.yaml", required=False)) is NoOpPolicy


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("policy: [unclosed", "not valid YAML"),
        ("nothing: here", "must have a 'policy' mapping"),
        ("policy:\n  class: NoColonHere", "must be 'module:Class'"),
        ("policy:\n  class: 'no_such_module_xyz:Thing'", "cannot import module 'no_such_module_xyz'"),
        ("policy:\n  class: 'luthien_proxy.settings:Settings'", "is not a LuthienPolicy subclass"),
        ("policy:\n  class: 'luthien_proxy.policies.noop:NoOpPolicy'\n  config: [1]", "must be a mapping"),
        (
            "policy:\n  class: 'luthien_proxy.policies.noop:NoOpPolicy'\n  config: {colour: red}",
            "rejected its config",
        ),
        (
            "policy:\n  class: 'luthien_proxy.policies.streaming_separator:StreamingSeparatorPolicy'\n"
            "  config: {every_n: 0}",
            "every_n must be a whole number >= 1",
        ),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(PolicyConfigError) as caught:
        load_policy(path)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyConfigError, match="does not exist"):
        load_policy(tmp_path / "absent.yaml")


def test_a_policy_on_the_old_api_is_refused_not_left_unpoliced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its hooks would never be called: the policy would let everything through.
    (tmp_path / "old_style_policy.py").write_text(
        "from luthien_proxy.policies import LuthienPolicy\n"
        "class Old(LuthienPolicy):\n"
        "    async def async_pre_call_hook(self, data, ctx):\n"
        "        raise RuntimeError('never reached')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "policy.yaml"
    path.write_text("policy:\n  class: 'old_style_policy:Old'\n")
    with pytest.raises(PolicyConfigError) as caught:
        load_policy(path)
    assert "Old uses the old policy API (async_pre_call_hook → on_request)" in str(caught.value)
