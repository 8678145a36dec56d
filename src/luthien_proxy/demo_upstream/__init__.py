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
- any other model: HTTP 404 with error code `model_not_found`.

Non-streaming responses carry `usage` (whitespace word counts); streams add a final usage chunk
when `stream_options.include_usage` is true.
"""

from luthien_proxy.demo_upstream.app import MODELS, DemoDefaults, create_app
from luthien_proxy.demo_upstream.server import main, run

__all__ = ["MODELS", "DemoDefaults", "create_app", "main", "run"]
