"""`luthien up` as an operator meets it: generated key, scale-out backends with the response cache,
a child dying, and a bad start."""

from __future__ import annotations

import re
import signal
import subprocess
import uuid
from pathlib import Path

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.conftest import REDIS_URL, require_servers
from tests.e2e.stack import luthien_up
from tests.support.processes import ManagedProcess, free_port, luthien

pytestmark = pytest.mark.e2e


def test_generated_key_is_printed_and_works(tmp_path: Path) -> None:
    with luthien_up(tmp_path, policy="all_caps.yaml", env={"LITELLM_MASTER_KEY": ""}) as stack:
        output = stack.output()
        match = re.search(r"API key \(both\)\s+(sk-luthien-\S+)", output)
        assert match, output
        assert "generated for this run" in output
        client = openai.OpenAI(base_url=f"{stack.proxy_url}/v1", api_key=match.group(1), max_retries=0)
        reply = client.chat.completions.create(
            model="demo-echo", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content == "YOU SAID: HI"
        assert f'api_key="{match.group(1)}"' in output, "the printed snippet carries the key"


def test_scale_out_backends_and_cached_answers_are_still_policed(tmp_path: Path, postgres_url: str) -> None:
    require_servers()
    env = {"DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL}
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": f"cache me {uuid.uuid4().hex}"}]
    with luthien_up(tmp_path, policy="all_caps.yaml", env=env) as stack:
        assert "starting on Postgres + Redis" in stack.output()
        client = stack.client()
        first = client.chat.completions.create(model="demo-echo", messages=messages)
        second = client.chat.completions.create(model="demo-echo", messages=messages)
        other = client.chat.completions.create(
            model="demo-echo",
            messages=[{"role": "user", "content": f"not cached {uuid.uuid4().hex}"}],
        )
        with stack.control_plane() as control_plane:
            health = control_plane.get("/health").json()
    assert second.id == first.id, "the repeat was served from LiteLLM's Redis cache"
    assert other.id != first.id
    assert second.choices[0].message.content == first.choices[0].message.content
    answer = second.choices[0].message.content or ""
    assert answer and answer == answer.upper()
    assert (health["store"]["backend"], health["bus"]["backend"]) == ("postgresql", "redis")


def test_a_dying_child_stops_the_stack_with_the_reason(tmp_path: Path) -> None:
    with luthien_up(tmp_path) as stack:
        port = stack.control_plane_url.rsplit(":", 1)[1]
        subprocess.run(
            ["pkill", "-KILL", "-f", f"luthien_proxy control-plane --host 127.0.0.1 --port {port}"]
        )
        code = stack.process.wait(timeout=30)
        output = stack.output()
    assert code == 1
    assert "control-plane exited with code -9; stopping the others" in output


def test_sigterm_stops_everything_cleanly(tmp_path: Path) -> None:
    with luthien_up(tmp_path) as stack:
        assert stack.stop(signal.SIGTERM) == 0
        output = stack.output()
    assert "stopping ..." in output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--policy", "no/such/policy.yaml"], "policy config no/such/policy.yaml does not exist"),
        (
            ["--litellm-config", "missing.yaml"],
            "LiteLLM config missing.yaml does not exist (see --litellm-config)",
        ),
    ],
)
def test_bad_start_is_one_clear_line(tmp_path: Path, args: list[str], fragment: str) -> None:
    process = ManagedProcess(
        luthien("up", "--demo", "--proxy-port", str(free_port()), *args),
        env={"DATABASE_URL": "", "REDIS_URL": ""},
        cwd=tmp_path,
        log=tmp_path / "up.log",
    )
    code = process.process.wait(timeout=60)
    output = process.output()
    process.stop()
    assert code == 1
    assert output.strip().splitlines()[-1] == f"luthien: cannot start: {fragment}"


def test_stack_keys_generate_an_admin_key_only_off_loopback() -> None:
    from luthien_proxy.stack.up import stack_keys

    local = stack_keys({}, "127.0.0.1")
    exposed = stack_keys({}, "0.0.0.0")
    chosen = stack_keys({"LUTHIEN_ADMIN_KEY": "mine", "LITELLM_MASTER_KEY": "sk-mine"}, "0.0.0.0")
    assert local.admin_key is None and local.master_key.startswith("sk-luthien-")
    assert exposed.admin_key and exposed.admin_key_generated
    assert (chosen.admin_key, chosen.admin_key_generated, chosen.master_key) == ("mine", False, "sk-mine")
