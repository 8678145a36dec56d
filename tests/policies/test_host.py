"""The policy host: the loader hands it to what asks for it, and it is where a policy's environment
lookups, model routes, HTTP client and clock come from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from luthien_proxy.config_values import expand_vars
from luthien_proxy.model_routes import ModelConfigError
from luthien_proxy.policies import AllCapsPolicy, PolicyConfigError, PolicyHost, load_policy
from luthien_proxy.protocols import ChainPolicy, ToolCallRulesPolicy, TrustedMonitor, TrustedMonitoringPolicy
from luthien_proxy.wire import DIALECT_OPENAI_CHAT

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "protocols"


def test_the_loader_hands_its_host_to_the_policy_and_every_chain_member() -> None:
    host = PolicyHost(environ={})
    chain = load_policy(EXAMPLES / "rules_then_monitoring.yaml", host=host)
    assert isinstance(chain, ChainPolicy) and chain.host is host
    rules, monitoring = chain.policies
    assert isinstance(rules, ToolCallRulesPolicy) and rules.host is host and rules.alerts.host is host
    assert isinstance(monitoring, TrustedMonitoringPolicy) and isinstance(monitoring.monitor, TrustedMonitor)
    assert monitoring.monitor.client.host is host


def test_without_a_host_the_policy_looks_up_the_live_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LUTHIEN_JUDGE_BASE_URL", raising=False)
    monkeypatch.delenv("LUTHIEN_DEMO_UPSTREAM_URL", raising=False)
    policy = load_policy(EXAMPLES / "trusted_monitoring.yaml")
    assert isinstance(policy, TrustedMonitoringPolicy) and isinstance(policy.monitor, TrustedMonitor)
    assert policy.monitor.client.base_url is None
    # `luthien up` validates the policy before the demo upstream's address is in the environment.
    monkeypatch.setenv("LUTHIEN_DEMO_UPSTREAM_URL", "http://127.0.0.1:9/v1")
    assert policy.monitor.client.base_url == "http://127.0.0.1:9/v1"
    monkeypatch.setenv("LUTHIEN_JUDGE_BASE_URL", "http://127.0.0.1:8/v1")
    assert policy.monitor.client.base_url == "http://127.0.0.1:8/v1"


def test_a_policy_that_takes_no_host_is_built_without_one(tmp_path: Path) -> None:
    path = tmp_path / "caps.yaml"
    path.write_text('policy:\n  class: "luthien_proxy.policies:AllCapsPolicy"\n')
    assert isinstance(load_policy(path, host=PolicyHost(environ={})), AllCapsPolicy)


def test_a_config_cannot_set_the_host(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text('policy:\n  class: "luthien_proxy.protocols:ToolCallRulesPolicy"\n  config: {host: x}\n')
    with pytest.raises(PolicyConfigError, match="cannot set 'host'"):
        load_policy(path)


def test_env_references_resolve_against_the_hosts_environment() -> None:
    host = PolicyHost(environ={"JUDGE_KEY": "sk-judge"})
    policy = TrustedMonitoringPolicy(monitor={"api_key": "os.environ/JUDGE_KEY"}, host=host)
    assert isinstance(policy.monitor, TrustedMonitor) and policy.monitor.client.api_key == "sk-judge"
    assert host.resolve("os.environ/UNSET") is None and host.resolve("literal") == "literal"
    assert host.resolve(None) is None


@pytest.mark.parametrize(
    "text",
    ["${HOOK}/alerts", "$HOOK/x", "${UNSET}/x", "$UNSET", "a$", "${}", "$HOOK_2", "${HOOK", "plain"],
)
def test_expansion_matches_os_path_expandvars(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    environ = {"HOOK": "http://127.0.0.1:1", "HOOK_2": "two"}
    for name in ("UNSET", "HOOK", "HOOK_2"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert expand_vars(text, environ) == os.path.expandvars(text)


def test_model_routes_are_read_once_from_the_hosts_config(tmp_path: Path) -> None:
    config = tmp_path / "models.yaml"
    config.write_text(
        "model_list:\n  - model_name: agent\n    litellm_params:\n"
        "      model: openai/agent-v1\n      api_base: http://127.0.0.1:1/v1/\n"
        "      api_key: os.environ/AGENT_KEY\n"
    )
    host = PolicyHost(environ={"LUTHIEN_MODEL_CONFIG": str(config), "AGENT_KEY": "sk-agent"})
    routes = host.model_routes()
    route = routes.find(DIALECT_OPENAI_CHAT, "agent")
    assert route is not None
    assert (route.upstream_model, route.base_url, route.api_key) == (
        "agent-v1",
        "http://127.0.0.1:1/v1",
        "sk-agent",
    )
    config.unlink()
    assert host.model_routes() is routes


def test_model_routes_keep_their_errors(tmp_path: Path) -> None:
    absent = PolicyHost(environ={"LUTHIEN_MODEL_CONFIG": str(tmp_path / "absent.yaml")}).model_routes()
    assert absent.by_dialect == {}
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_list: [\n")
    with pytest.raises(ModelConfigError, match="not valid YAML"):
        PolicyHost(environ={"LUTHIEN_MODEL_CONFIG": str(bad)}).model_routes()
