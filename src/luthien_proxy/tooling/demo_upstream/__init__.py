"""Deterministic OpenAI-compatible demo upstream: no keys, no network, behaviour picked by model name.

Endpoints: `GET /health`, `GET /v1/models`, `POST /v1/chat/completions` (also `/chat/completions`),
streaming (`data: {...}\\n\\n` frames ending in `data: [DONE]`) and non-streaming.

Models:
- `demo-echo`: replies "You said: <last user message text>"; streams word by word.
- `demo-long`: replies "chunk 0 chunk 1 ..."; one stream chunk per piece. Per-request body keys
  `demo_chunks` (1..100000) and `demo_delay_ms` (0..10000, delay before each frame) override the
  server defaults (`--long-chunks`, default 50; `--long-delay-ms`, default 0).
- `demo-tool`: a `run_shell` tool call with arguments `{"command": "ls -la"}`, `finish_reason`
  "tool_calls"; when streaming, id/name come in the first delta and the arguments are split across
  several deltas.
- `demo-error`: an OpenAI-style error body with HTTP 500, or the status in body key `demo_status`
  (400..599).
- `demo-judge`, `demo-trusted`, and `demo-tool` with an `[agent:<behaviour>]` marker in the last
  user message: the scripted judge, trusted model and untrusted agent behaviours of the control
  protocols (see `protocol_models`; markers without a known behaviour leave demo-tool unchanged).
- any other model: HTTP 404 with error code `model_not_found`.

`POST /alerts` (also `/v1/alerts`) stores a JSON alert and `GET /alerts` lists them: a webhook sink
for protocol alerts; `POST /alerts/fail` always answers 500.

Non-streaming responses carry `usage` (whitespace word counts); streams add a final usage chunk
when `stream_options.include_usage` is true.
"""

from luthien_proxy.tooling.demo_upstream.app import MODELS, DemoDefaults, create_app
from luthien_proxy.tooling.demo_upstream.server import main, run

__all__ = ["MODELS", "DemoDefaults", "create_app", "main", "run"]
