"""Policy routing: the rules of a policy document choose each call's policy by key, team, model and
door; two named keys of the native door get two policies, LiteLLM virtual keys and teams theirs, and
every call records which rule chose its policy. A replaced set is closed only once its calls end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from luthien_proxy.control_plane import create_app
from luthien_proxy.model_routes import routes_from_config
from luthien_proxy.pipeline.active_policies import ActivePolicies
from luthien_proxy.policies import CallFacts, LuthienPolicy, PolicyConfigError, parse_policy_set
from luthien_proxy.policies.policy_set import credential_in
from luthien_proxy.tooling.demo_upstream import create_app as create_demo_upstream
from tests.conftest import OpenServices
from tests.support.live_server import serve_app
from tests.support.waiting import eventually
from tests.ui.traffic import chunk_stream

CAPS = "luthien_proxy.policies.all_caps:AllCapsPolicy"
NOOP = "luthien_proxy.policies.noop:NoOpPolicy"
ROUTED = f"""
name: by-caller
policies:
  loud: {{class: "{CAPS}"}}
  quiet: {{class: "{NOOP}"}}
routes:
  - {{name: ci-keys, when: {{key: [ci-bot, release-bot]}}, policy: loud}}
  - {{name: research, when: {{team: research}}, policy: loud}}
  - {{name: native-demo, when: {{door: native, model: "demo-long*"}}, policy: loud}}
default: quiet
"""
KEYS = (("ci-bot", "sk-ci-bot-key-for-routing-tests"), ("alice", "sk-alice-key-for-routing-tests"))
MASTER = "sk-master-key-for-routing-tests"


def test_the_first_matching_rule_chooses_else_the_default() -> None:
    routed = parse_policy_set(ROUTED)

    def chosen(**facts: Any) -> tuple[str, str]:
        selection = routed.select(CallFacts(**{"door": "litellm", **facts}))
        return selection.name, selection.rule

    assert chosen(key="ci-bot") == ("loud", "ci-keys")
    assert chosen(key="alice") == ("quiet", "default")
    assert chosen(key="alice", teams=("research",)) == ("loud", "research")
    assert chosen(door="native", model="demo-long-story") == ("loud", "native-demo")
    assert chosen(door="litellm", model="demo-long-story") == ("quiet", "default")
    assert chosen() == ("quiet", "default")
    assert routed.describe()["routes"][0] == {
        "name": "ci-keys",
        "when": {"key": ["ci-bot", "release-bot"]},
        "policy": "loud",
    }
    assert (routed.name, routed.default, len(routed.version)) == ("by-caller", "quiet", 12)
    assert parse_policy_set(ROUTED).version == routed.version != parse_policy_set(ROUTED + "\n").version


@pytest.mark.parametrize(
    ("document", "says"),
    [
        (f'policies: {{a: {{class: "{NOOP}"}}}}', "default must name one of policies (a)"),
        (f'policies: {{a: {{class: "{NOOP}"}}}}\ndefault: b', "default 'b' is not one of policies (a)"),
        (f'policy: {{class: "{NOOP}"}}\nroutes: []', "routes and default need a 'policies' mapping"),
        (f'policies: {{a: {{class: "{NOOP}"}}}}\ndefault: a\nroutes: {{x: 1}}', "routes must be a list"),
        (
            f'policies: {{a: {{class: "{NOOP}"}}}}\ndefault: a\nroutes: [{{when: {{door: ftp}}, policy: a}}]',
            "routes[0]: when.door: unknown door 'ftp' (litellm, native)",
        ),
        (
            f'policies: {{a: {{class: "{NOOP}"}}}}\ndefault: a\nroutes: [{{when: {{key: []}}, policy: a}}]',
            "when.key must be a non-empty string or list of strings",
        ),
        (
            'policies: {a: {class: "nowhere:X"}}\ndefault: a',
            "policies.a: cannot import module 'nowhere'",
        ),
    ],
)
def test_a_routing_mistake_is_refused_naming_it(document: str, says: str) -> None:
    with pytest.raises(PolicyConfigError) as refused:
        parse_policy_set(document, source="routing.yaml")
    assert says in str(refused.value)


def test_a_literal_credential_is_found_but_a_rule_naming_a_key_is_not() -> None:
    assert credential_in(ROUTED) is None
    assert (
        credential_in("policy: {config: {judge: {api_key: hunter2}}}")
        == "field 'api_key' holds a literal credential"
    )
    assert credential_in("policy: {config: {api_key: os.environ/JUDGE_KEY}}") is None


class Closing(LuthienPolicy):
    closed = 0

    async def aclose(self) -> None:
        Closing.closed += 1


async def test_a_replaced_set_is_closed_when_its_last_call_ends() -> None:
    Closing.closed = 0
    old_set = parse_policy_set('policy: {class: "tests.policies.test_policy_routing:Closing"}')
    active = ActivePolicies(old_set, known_grace_s=0)
    running = active.start("call-1", CallFacts("native"))
    active.swap(parse_policy_set(f'policy: {{class: "{CAPS}"}}'))
    assert active.of("call-1", CallFacts("native")) is running, "a running call keeps its policy"
    assert active.start("call-2", CallFacts("native")).name == "AllCapsPolicy"
    assert (active.in_flight(old_set.version), Closing.closed) == (1, 0)
    active.end("call-1")
    await eventually(lambda: _is(Closing.closed == 1))
    await active.aclose()


async def test_a_replaced_set_serves_the_calls_a_callback_began_under_it_through_the_grace() -> None:
    Closing.closed = 0
    old_set = parse_policy_set('policy: {class: "tests.policies.test_policy_routing:Closing"}')
    active = ActivePolicies(old_set, known_grace_s=0.2)
    active.swap(parse_policy_set(f'policy: {{class: "{CAPS}"}}'))
    # A LiteLLM callback that had not heard of the change yet names the version it acted on.
    late = active.start("late", CallFacts("litellm"), known=old_set.version)
    assert (late.version, late.name) == (old_set.version, "Closing")
    assert active.start("fresh", CallFacts("litellm")).name == "AllCapsPolicy"
    active.end("late")
    assert Closing.closed == 0, "kept through the grace although no call holds it"
    await eventually(lambda: _is(Closing.closed == 1))
    gone = active.start("later", CallFacts("litellm"), known=old_set.version)
    assert gone.name == "AllCapsPolicy", "once closed, a stale version gets the current set"
    await active.aclose()


async def _is(value: bool) -> bool:
    return value


@pytest.fixture
async def routed_door(open_services: OpenServices) -> AsyncIterator[tuple[str, httpx.AsyncClient, Any]]:
    async with serve_app(create_demo_upstream()) as upstream:  # type: ignore[arg-type]
        services = await open_services(client_key=MASTER, client_keys=KEYS)
        services.pipeline.policies.swap(parse_policy_set(ROUTED))
        entries = [
            {"model_name": m, "litellm_params": {"model": f"openai/{m}", "api_base": f"http://{upstream}/v1"}}
            for m in ("demo-echo", "demo-long")
        ]
        services.model_routes = routes_from_config({"model_list": entries})
        async with (
            serve_app(create_app(services.settings, services)) as address,
            httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as client,
        ):
            yield address, client, services


async def _summaries(client: httpx.AsyncClient, services: Any, *call_ids: str) -> dict[str, dict[str, Any]]:
    async def check() -> dict[str, dict[str, Any]] | None:
        await services.writer.flush()
        calls = {c["call_id"]: c for c in (await client.get("/api/calls")).json()["calls"]}
        return calls if set(call_ids) <= calls.keys() else None

    return await eventually(check)


async def test_two_named_keys_of_the_native_door_get_two_policies(
    routed_door: tuple[str, httpx.AsyncClient, Any],
) -> None:
    _, client, services = routed_door

    async def ask(key: str, stream: bool = False) -> tuple[str, str]:
        body = {"model": "demo-echo", "messages": [{"role": "user", "content": "hi there"}], "stream": stream}
        answer = await client.post(
            "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}
        )
        assert answer.status_code == 200, answer.text
        if stream:
            text = "".join(
                piece
                for line in answer.text.splitlines()
                if line.startswith("data: {")
                for piece in _deltas(line)
            )
        else:
            text = answer.json()["choices"][0]["message"]["content"]
        return answer.headers["x-litellm-call-id"], text

    ci_call, ci_text = await ask(KEYS[0][1])
    alice_call, alice_text = await ask(KEYS[1][1])
    ci_stream, ci_streamed = await ask(KEYS[0][1], stream=True)
    master_call, master_text = await ask(MASTER)
    assert (ci_text, ci_streamed) == ("YOU SAID: HI THERE", "YOU SAID: HI THERE")
    assert alice_text == master_text == "You said: hi there"
    wrong = await client.post(
        "/v1/chat/completions",
        json={"model": "demo-echo", "messages": []},
        headers={"authorization": "Bearer sk-no"},
    )
    assert wrong.status_code == 401
    # Each named key's calls are in a namespace of their own; the master key's stay unprefixed.
    assert ci_call.split(":")[0] != alice_call.split(":")[0] and ":" not in master_call

    calls = await _summaries(client, services, ci_call, alice_call, ci_stream, master_call)
    chosen = {call_id: (c["key_alias"], c["policy"], c["policy_rule"]) for call_id, c in calls.items()}
    assert chosen[ci_call] == chosen[ci_stream] == ("ci-bot", "loud", "ci-keys")
    assert chosen[alice_call] == ("alice", "quiet", "default")
    assert chosen[master_call] == (None, "quiet", "default")
    version = services.pipeline.policies.current.version
    assert {calls[c]["policy_version"] for c in (ci_call, alice_call, master_call)} == {version}


def _deltas(line: str) -> list[str]:
    import json

    chunk = json.loads(line[len("data: ") :])
    return [choice["delta"].get("content") or "" for choice in chunk.get("choices", [])]


async def test_litellm_virtual_keys_and_teams_choose_their_policy_streams_included(
    routed_door: tuple[str, httpx.AsyncClient, Any],
) -> None:
    address, client, services = routed_door

    async def streamed(call_id: str, caller: dict[str, Any]) -> str:
        request = {
            "model": "demo-echo",
            "messages": [{"role": "user", "content": "hi"}],
            "litellm_call_id": call_id,
        }
        hook = await client.post(
            "/api/hooks/async_pre_call_hook",
            json={"litellm_call_id": call_id, "data": request, "user_api_key_dict": caller},
        )
        assert hook.status_code == 200, hook.text
        async with chunk_stream(address, call_id, f"trace-{call_id}") as stream:
            await stream.send("quiet words")
            return (await stream.end()).text

    assert await streamed("ci", {"key_alias": "release-bot"}) == "QUIET WORDS"
    assert await streamed("team", {"key_alias": "someone", "team_alias": "research"}) == "QUIET WORDS"
    assert await streamed("other", {"key_alias": "someone", "team_id": "sales"}) == "quiet words"
    calls = await _summaries(client, services, "ci", "team", "other")
    assert [(calls[c]["policy"], calls[c]["policy_rule"]) for c in ("ci", "team", "other")] == [
        ("loud", "ci-keys"),
        ("loud", "research"),
        ("quiet", "default"),
    ]
    assert calls["ci"]["key_alias"] == "release-bot"


def test_the_routing_example_of_the_docs_loads_and_routes_as_it_says() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs/policies.md").read_text()
    section = doc[doc.index("## Routing") :]
    example = section[section.index("```yaml\n") + 8 : section.index("```\n", section.index("```yaml\n") + 8)]
    routed = parse_policy_set(example)
    chosen = {
        facts: routed.select(facts).record()["rule"]
        for facts in (
            CallFacts("native", "demo-echo", "ci-bot"),
            CallFacts("litellm", "gpt-4o", "someone", ("research",)),
            CallFacts("native", "demo-long-story"),
            CallFacts("litellm", "demo-long-story"),
        )
    }
    assert list(chosen.values()) == ["ci-agents", "research", "native-long", "default"]
    assert (routed.name, routed.default) == ("by-caller", "plain")
