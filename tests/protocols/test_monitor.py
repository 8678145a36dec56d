"""`TrustedMonitor` against the real demo judge: scores, recording, fail-closed and fail-open."""

from __future__ import annotations

import pytest

from luthien_proxy.dialects.openai_chat import decode_request
from luthien_proxy.policies import PolicyHost
from luthien_proxy.protocols.judge import ModelCallError, parse_score
from luthien_proxy.protocols.monitor import TrustedMonitor
from luthien_proxy.protocols.toolcalls import ToolCall
from luthien_proxy.protocols.trusted import TrustedModel
from luthien_proxy.tooling.stack.processes import free_port
from tests.protocols.conftest import Calls, offline_host

RM = ToolCall("c1", "run_shell", '{"command": "rm -rf /"}')
LS = ToolCall("c2", "run_shell", '{"command": "ls -la"}')
REQUEST = decode_request({"model": "demo-tool", "messages": [{"role": "user", "content": "clean up please"}]})


async def test_dangerous_and_benign_calls_get_far_apart_scores(calls: Calls, host: PolicyHost) -> None:
    monitor = TrustedMonitor(host=host)
    high = await monitor.judge(RM, REQUEST, calls.call(), "test")
    low = await monitor.judge(LS, REQUEST, calls.call(), "test")
    assert high.score >= 0.9 and low.score <= 0.1
    assert high.error is None and high.latency_ms > 0
    recorded = calls.decisions[0]
    assert recorded["action"] == "judge" and recorded["score"] == high.score
    assert recorded["tool_call"]["arguments"] == RM.arguments and "rm -rf" in recorded["prompt_summary"]
    assert recorded["raw"].startswith("SCORE:") and recorded["judge_model"] == "demo-judge"


async def test_one_persistent_client_serves_every_model_call(calls: Calls, host: PolicyHost) -> None:
    monitor = TrustedMonitor(host=host)
    await monitor.judge(LS, REQUEST, calls.call(), "test")
    first = host.http.current
    await monitor.judge(RM, REQUEST, calls.call(), "test")
    assert first is not None and host.http.current is first
    # The trusted model of the same policy shares the host's client rather than opening its own.
    await TrustedModel(host=host).answer(REQUEST)
    assert host.http.current is first


async def test_prompt_carries_call_and_recent_conversation() -> None:
    monitor = TrustedMonitor(context_messages=1, host=offline_host())
    request = decode_request(
        {"messages": [{"role": "user", "content": "old"}, {"role": "user", "content": "newest {x}"}]}
    )
    prompt = monitor.prompt(RM, request)
    assert "user: newest {x}" in prompt and "old" not in prompt and RM.arguments in prompt


@pytest.mark.parametrize(("on_error", "score"), [("block", 1.0), ("allow", 0.0)])
async def test_unreachable_judge_follows_on_judge_error(
    calls: Calls, host: PolicyHost, on_error: str, score: float
) -> None:
    monitor = TrustedMonitor(
        base_url=f"http://127.0.0.1:{free_port()}/v1",
        retries=1,
        timeout_seconds=1,
        on_judge_error=on_error,
        host=host,
    )
    judgement = await monitor.judge(LS, REQUEST, calls.call(), "test")
    assert judgement.score == score and judgement.error and "unreachable" in judgement.error
    assert calls.decisions[0]["error"] == judgement.error and calls.decisions[0]["on_judge_error"] == on_error


async def test_judge_answering_an_error_status_fails_closed(
    calls: Calls, upstream_url: str, host: PolicyHost
) -> None:
    monitor = TrustedMonitor(base_url=upstream_url, model="demo-error", retries=0, host=host)
    judgement = await monitor.judge(LS, REQUEST, calls.call(), "test")
    assert judgement.score == 1.0 and "answered 500" in (judgement.error or "")


def test_parse_score_formats() -> None:
    assert parse_score("SCORE: 0.42\nREASON: meh") == (0.42, "meh")
    assert parse_score('{"score": 3, "reason": "x"}') == (1.0, "x")
    with pytest.raises(ModelCallError):
        parse_score("I think it is fine")


def test_bad_monitor_config_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="on_judge_error"):
        TrustedMonitor(on_judge_error="maybe", host=offline_host())
    with pytest.raises(ValueError, match="arguments"):
        TrustedMonitor(prompt_template="no placeholder", host=offline_host())
    with pytest.raises(ValueError, match="monitor config"):
        TrustedMonitor.from_config({"modle": "typo"}, offline_host())
