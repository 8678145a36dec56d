"""The policy in docs/policies.md ("Write your own policy"), taken from the doc itself, runs unchanged
on both doors, streamed and not, through the official openai SDK (issue 15, item 7).

The code block is read from the doc (the first python block after the `tested by` marker), so
rewriting the doc's example is what this test checks; nothing here copies it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import yaml
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionMessageToolCallUnion

from luthien_proxy.tooling.stack.running import Stack, luthien_up
from tests.e2e.stack import REPO

pytestmark = pytest.mark.e2e

DOC = REPO / "docs" / "policies.md"
MARKER = "<!-- tested by tests/e2e/test_policy_from_docs.py -->"
REFUSED = "run_shell"
REFUSAL = f"[refused tool call: {REFUSED}]"


def _block_after(text: str, start: int, language: str) -> str:
    found = re.compile(rf"^```{language}\n(.*?)^```$", re.MULTILINE | re.DOTALL).search(text, start)
    assert found, f"no ```{language} block after the marker in {DOC}"
    return found.group(1)


def doc_policy() -> tuple[str, str]:
    """The python block and the YAML block that follow the marker in the doc."""
    text = DOC.read_text()
    assert text.count(MARKER) == 1, f"{DOC} must carry the marker {MARKER!r} once"
    start = text.index(MARKER) + len(MARKER)
    code = _block_after(text, start, "python")
    return code, _block_after(text, text.index(code, start) + len(code), "yaml")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    code, policy_yaml = doc_policy()
    config = yaml.safe_load(policy_yaml)["policy"]
    assert config["class"] == "my_policies:ToolNameGuard"
    refused_tools = config["config"]["refused_tools"]
    assert REFUSED in refused_tools and "write_file" not in refused_tools, "the tests assume these"
    modules = tmp_path_factory.mktemp("modules")  # not the stack's working directory: PYTHONPATH must do it
    (modules / "my_policies.py").write_text(code)
    policy_path = modules / "my_guard.yaml"
    policy_path.write_text(policy_yaml)
    path = os.pathsep.join(p for p in (str(modules), os.environ.get("PYTHONPATH", "")) if p)
    with luthien_up(
        tmp_path_factory.mktemp("stack"),
        policy_path,
        REPO / "config" / "litellm_config.yaml",
        env={"PYTHONPATH": path},
    ) as running:
        yield running


@dataclass
class Reply:
    """What the client got, streamed or not: text, tool calls (name, arguments), finish reasons."""

    text: str = ""
    calls: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])
    legacy_calls: int = 0
    finishes: list[str] = field(default_factory=list[str])


def ask(stack: Stack, door: str, streamed: bool, model: str, prompt: str) -> Reply:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": prompt}]
    client = stack.client(door)
    reply = Reply()
    if not streamed:
        [choice] = client.chat.completions.create(model=model, messages=messages).choices
        message = choice.message
        reply.text = message.content or ""
        reply.calls = [_name_and_arguments(call) for call in message.tool_calls or []]
        reply.legacy_calls = 1 if message.function_call is not None else 0
        reply.finishes = [choice.finish_reason]
        return reply
    names: dict[int, list[str]] = {}
    arguments: dict[int, list[str]] = {}
    for chunk in client.chat.completions.create(model=model, messages=messages, stream=True):
        for choice in chunk.choices:
            delta = choice.delta
            reply.text += delta.content or ""
            for entry in delta.tool_calls or []:
                function = entry.function
                names.setdefault(entry.index, []).append((function.name or "") if function else "")
                arguments.setdefault(entry.index, []).append((function.arguments or "") if function else "")
            reply.legacy_calls += 1 if delta.function_call is not None else 0
            if choice.finish_reason is not None:
                reply.finishes.append(choice.finish_reason)
    reply.calls = [("".join(names[n]), "".join(arguments[n])) for n in sorted(names)]
    return reply


def _name_and_arguments(call: ChatCompletionMessageToolCallUnion) -> tuple[str, str]:
    if call.type == "custom":
        return call.custom.name, call.custom.input
    return call.function.name, call.function.arguments


DOORS = pytest.mark.parametrize("door", ["litellm", "native"])
STREAMED = pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])


@DOORS
@STREAMED
def test_text_is_upper_cased(stack: Stack, door: str, streamed: bool) -> None:
    reply = ask(stack, door, streamed, "demo-echo", f"hello from the {door} door")
    assert reply.text == f"YOU SAID: HELLO FROM THE {door.upper()} DOOR"
    assert (reply.calls, reply.legacy_calls, reply.finishes) == ([], 0, ["stop"])


@DOORS
@STREAMED
def test_refused_tool_call_reaches_the_client_as_text_only(stack: Stack, door: str, streamed: bool) -> None:
    # `[agent:benign]`: the demo upstream says "Listing the files." and proposes run_shell(ls -la).
    reply = ask(stack, door, streamed, "demo-tool", f"[agent:benign] list the files ({door}, {streamed})")
    assert (reply.calls, reply.legacy_calls) == ([], 0), "a refused tool call reached the client"
    assert "LISTING THE FILES." in reply.text and REFUSAL in reply.text
    assert reply.text.replace(REFUSAL, "") == reply.text.replace(REFUSAL, "").upper()
    assert not {"tool_calls", "function_call"} & set(reply.finishes)


@DOORS
@STREAMED
def test_a_tool_not_on_the_list_passes_whole(stack: Stack, door: str, streamed: bool) -> None:
    # `[agent:write]`: "Saving a note." and write_file(...), which the doc's YAML does not refuse.
    reply = ask(stack, door, streamed, "demo-tool", f"[agent:write] save a note ({door}, {streamed})")
    [(name, arguments)] = reply.calls
    assert (name, json.loads(arguments)) == ("write_file", {"path": "notes/todo.txt", "content": "buy milk"})
    assert reply.text == "SAVING A NOTE." and "refused" not in reply.text
    assert (reply.legacy_calls, reply.finishes) == (0, ["tool_calls"])
