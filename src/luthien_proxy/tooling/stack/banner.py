"""What `luthien up` prints once everything is healthy: where things are and how to call them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from luthien_proxy.settings import Settings

if TYPE_CHECKING:
    from luthien_proxy.tooling.stack.options import StackKeys, StackOptions


def banner(settings: Settings, options: StackOptions, keys: StackKeys) -> str:
    host = "127.0.0.1" if options.host in ("0.0.0.0", "::", "") else options.host
    proxy = f"http://{host}:{options.proxy_port}/v1"
    control_plane = f"http://{host}:{options.control_plane_port}"
    model = "demo-echo" if options.demo else "<a model from your LiteLLM config>"
    agent_model = " --model demo-agent" if options.demo else ""
    key_note = (
        "generated for this run; set LITELLM_MASTER_KEY to choose one"
        if keys.master_key_generated
        else ("from LITELLM_MASTER_KEY")
    )
    admin_line = ""
    if keys.admin_key:
        origin = (
            "generated: the stack is reachable from the network, or the policy holds calls for a "
            "person to decide; set LUTHIEN_ADMIN_KEY to choose one; keep it from the agent"
            if keys.admin_key_generated
            else ("from LUTHIEN_ADMIN_KEY")
        )
        admin_line = (
            f"  Admin key (UI, read APIs)    {keys.admin_key}\n                               ({origin})\n"
        )
    return f"""
Luthien is up. Policy: {settings.policy_config if settings.policy_config_explicit else "NoOpPolicy (default)"}

  OpenAI API (LiteLLM proxy)   {proxy}
  OpenAI API (native, faster)  {control_plane}/v1   (openai/ models of the config)
  Anthropic API (LiteLLM)      {proxy.removesuffix("/v1")}   (set as ANTHROPIC_BASE_URL)
  Anthropic API (native)       {control_plane}   (anthropic/ models of the config)
  API key (all)                {keys.master_key}
                               ({key_note})
  Control plane                {control_plane}   (health: {control_plane}/health)
  Live view and history        {control_plane}/ui
{admin_line}
Try it (pip install openai):

python - <<'PY'
from openai import OpenAI
client = OpenAI(base_url="{proxy}", api_key="{keys.master_key}")
messages = [{{"role": "user", "content": "hello from luthien"}}]
reply = client.chat.completions.create(model="{model}", messages=messages)
print(reply.choices[0].message.content)
PY

Claude Code through Luthien (either door):

ANTHROPIC_BASE_URL={control_plane} ANTHROPIC_API_KEY={keys.master_key} claude{agent_model}

Press Ctrl-C to stop.
"""
