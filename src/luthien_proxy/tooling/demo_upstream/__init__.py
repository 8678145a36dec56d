"""Deterministic demo upstream: OpenAI chat, Anthropic Messages and OpenAI Responses, no keys, no network.

Endpoints: `GET /health`, `GET /v1/models`, `POST /v1/chat/completions` (also `/chat/completions`),
streaming (`data: {...}\\n\\n` frames ending in `data: [DONE]`) and non-streaming; `POST
/v1/messages` (Message JSON or its SSE events, see `anthropic_app`) and `/v1/messages/count_tokens`;
`POST /v1/responses` (also `/responses`; a Response JSON or its SSE events, see `openai_responses_app`).
Each model is scripted once (`answers`) and written by all three encoders, so it answers alike in each.

Models:
- `demo-echo`: replies "You said: <last user message text>"; streams word by word.
- `demo-long`: replies "chunk 0 chunk 1 ..."; one stream chunk per piece. Per-request body keys
  `demo_chunks` (1..100000) and `demo_delay_ms` (0..10000, delay before each frame) override the
  server defaults (`--long-chunks`, default 50; `--long-delay-ms`, default 0).
- `demo-tool`: a `run_shell` tool call with arguments `{"command": "ls -la"}`, `finish_reason`
  "tool_calls"; when streaming, id/name come in the first delta and the arguments are split across
  several deltas.
- `demo-error`: an error body of the dialect with HTTP 500, or the status in body key `demo_status`
  (400..599); a streamed Responses request gets `response.failed` instead.
- `demo-agent`: one call of the shell tool the request offers for the last `run: <command>` line of
  the last user message: `exec_command` `{"cmd": ...}` (Codex), else `shell` `{"command": ["bash",
  "-lc", ...]}` when offered without `Bash`, else `Bash` `{"command": ...}` (Claude Code, and when no
  tool is offered); `done: <start of the result>` when the conversation ends on a tool result; else an echo.
  A streamed answer waits `demo_delay_ms` (0..10000, default 0) before each frame, as demo-long's.
- `demo-judge`, `demo-trusted`, and `demo-tool` with an `[agent:<behaviour>]` marker in the last
  user message: the scripted judge, trusted model and untrusted agent behaviours of the control
  protocols (see `protocol_models`; markers without a known behaviour leave demo-tool unchanged).
- any other model: HTTP 404 (`model_not_found`; Anthropic: `not_found_error`).

`POST /alerts` (also `/v1/alerts`) stores a JSON alert and `GET /alerts` lists them: a webhook sink
for protocol alerts; `POST /alerts/fail` always answers 500.

Non-streaming responses carry `usage` (whitespace word counts); streams add a final usage chunk
when `stream_options.include_usage` is true.
"""

from luthien_proxy.tooling.demo_upstream.app import MODELS, DemoDefaults, create_app
from luthien_proxy.tooling.demo_upstream.server import main, run

__all__ = ["MODELS", "DemoDefaults", "create_app", "main", "run"]
