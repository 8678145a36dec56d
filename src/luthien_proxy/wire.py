"""Every name the LiteLLM callback and the control plane must agree on, defined once.

The callback (`proxy/`) and the control plane (`control_plane/`, `pipeline/`, `streaming/`,
`storage/`) run in different processes; a route, header, hook, frame type, close code, record type or
secret name that one side writes and the other reads lives here, so the two cannot drift apart
(docs/hook-api.md, docs/streaming-protocol.md). `tests/core/test_wire.py` fails if a value reappears
as a literal elsewhere in `src/`. No imports beyond `typing`: LiteLLM loads this with the callback.
"""

from __future__ import annotations

from typing import Final

# --- Routes the callback calls on the control plane --------------------------------------------
#: `POST {HOOKS_PATH}/{hook}`: one hook, asked and answered (docs/hook-api.md).
HOOKS_PATH: Final = "/api/hooks"
#: WebSocket `{STREAM_PATH}/{call id}`: one policed stream.
STREAM_PATH: Final = "/stream"
#: WebSocket: the callback's standing link, for the hooks the policy leaves alone.
LINK_PATH: Final = "/api/link"

# --- Identity -------------------------------------------------------------------------------
#: The identity fields LiteLLM puts in a request and every record carries at its top level, where
#: the call-id and trace-id indexes look (`docs/architecture.md`, "Identity").
CALL_ID_KEY: Final = "litellm_call_id"
TRACE_ID_KEY: Final = "litellm_trace_id"
ID_KEYS: Final = (CALL_ID_KEY, TRACE_ID_KEY)
#: A client's W3C trace context: the native door's request headers, and the top-level fields in
#: which the callback passes on the ones LiteLLM received, so the control plane's spans continue it.
TRACEPARENT_KEY: Final = "traceparent"
TRACESTATE_KEY: Final = "tracestate"

# --- Dialects -------------------------------------------------------------------------------
#: A hook payload's (or stream start's) top-level field naming the client's wire dialect; absent
#: means OpenAI chat.
DIALECT_KEY: Final = "luthien_dialect"
DIALECT_OPENAI_CHAT: Final = "openai_chat"
DIALECT_ANTHROPIC_MESSAGES: Final = "anthropic_messages"
DIALECT_OPENAI_RESPONSES: Final = "openai_responses"

# --- Doors ----------------------------------------------------------------------------------
#: A payload's top-level field naming the door a call came through; absent means the LiteLLM door.
DOOR_KEY: Final = "luthien_door"
DOOR_LITELLM: Final = "litellm"
DOOR_NATIVE: Final = "native"

# --- Headers ----------------------------------------------------------------------------------
#: Authenticates the callback to the control plane when `LUTHIEN_PROXY_TOKEN` is set.
PROXY_TOKEN_HEADER: Final = "x-luthien-proxy-token"
#: On a hook API 4xx, `DECISION_REJECT` says the policy refused the call (not a failure).
DECISION_HEADER: Final = "x-luthien-decision"
DECISION_REJECT: Final = "reject"
#: On a hook API 200, the answer is late: whitespace while the policy works (a held call), then
#: `{LATE_ANSWER_KEY: {"status_code", "decision", "body"}}`, the answer it would have sent.
LATE_ANSWER_HEADER: Final = "x-luthien-late-answer"
LATE_ANSWER_KEY: Final = "luthien_late_answer"

# --- LiteLLM hooks: the hook API's path segment and the link's `hook` field --------------------
PRE_CALL_HOOK: Final = "async_pre_call_hook"
MODERATION_HOOK: Final = "async_moderation_hook"
SUCCESS_HOOK: Final = "async_post_call_success_hook"
FAILURE_HOOK: Final = "async_post_call_failure_hook"
#: The streamed response, policed over `STREAM_PATH` (or relayed over the link).
STREAM_HOOK: Final = "async_post_call_streaming_iterator_hook"
#: LiteLLM's per-chunk hook; its result record type names a stream's summary.
CHUNK_HOOK: Final = "async_post_call_streaming_hook"
LOG_PRE_API_CALL_HOOK: Final = "async_log_pre_api_call"
LOG_SUCCESS_HOOK: Final = "async_log_success_event"
LOG_FAILURE_HOOK: Final = "async_log_failure_event"
#: Every hook the hook API accepts, in the order a call meets them.
HOOKS: Final = (
    PRE_CALL_HOOK,
    MODERATION_HOOK,
    SUCCESS_HOOK,
    FAILURE_HOOK,
    CHUNK_HOOK,
    LOG_PRE_API_CALL_HOOK,
    LOG_SUCCESS_HOOK,
    LOG_FAILURE_HOOK,
)
#: Hooks whose outcome the client depends on: the link's `POLICY.policed` names a subset of these.
ANSWERED_HOOKS: Final = (PRE_CALL_HOOK, MODERATION_HOOK, SUCCESS_HOOK, STREAM_HOOK)

# --- Stream WebSocket frame types (`{"type": ...}`) --------------------------------------------
FRAME_START: Final = "START"
FRAME_CHUNK: Final = "CHUNK"
FRAME_END: Final = "END"
FRAME_ERROR: Final = "ERROR"
FRAME_REJECT: Final = "REJECT"
#: Control plane → proxy while the policy is quiet (a judge, a held call): "still working".
FRAME_KEEPALIVE: Final = "KEEPALIVE"
#: What the callback may send on a stream socket.
PROXY_FRAMES: Final = (FRAME_START, FRAME_CHUNK, FRAME_END, FRAME_ERROR)

# --- Link frame types and stream item kinds (`{"stream": ...}`) --------------------------------
LINK_POLICY: Final = "POLICY"
#: In a LiteLLM hook body and a stream's request: the version of the policy whose POLICY frame the
#: callback acted on for this call (what it asked, what it reported). The call runs on that version
#: while the control plane keeps it, so what the callback let through and what was judged agree.
POLICY_VERSION_KEY: Final = "luthien_policy_version"
LINK_RECORDS: Final = "RECORDS"
LINK_STREAM_START: Final = "start"
LINK_STREAM_CHUNK: Final = "chunk"
LINK_STREAM_END: Final = "end"

# --- WebSocket close codes (RFC 6455) ---------------------------------------------------------
CLOSE_NORMAL: Final = 1000
CLOSE_GOING_AWAY: Final = 1001
CLOSE_PROTOCOL_ERROR: Final = 1002
#: Never sent: the code a peer sees when the connection dropped without a close frame.
CLOSE_ABNORMAL: Final = 1006
CLOSE_POLICY_VIOLATION: Final = 1008
CLOSE_TOO_BIG: Final = 1009
CLOSE_INTERNAL_ERROR: Final = 1011
CLOSE_RESTARTING: Final = 1012
CLOSE_TRY_AGAIN: Final = 1013
#: Codes saying the control plane went away, not that it refused the stream.
CLOSE_GONE: Final = frozenset({CLOSE_GOING_AWAY, CLOSE_ABNORMAL, CLOSE_RESTARTING, CLOSE_TRY_AGAIN})

# --- Record types (`debug_type_identifier`), written by the pipeline, read by store and UI -------
HOOK_RECORD_PREFIX: Final = "hook:"
RESULT_RECORD_PREFIX: Final = "hook_result:"
#: One stream's outcome, recorded when it ends.
STREAM_SUMMARY_TYPE: Final = RESULT_RECORD_PREFIX + CHUNK_HOOK
#: A batch of a stream's chunks, `[kind, index, timestamp, chunk]` each, already published one by one.
STREAM_CHUNKS_TYPE: Final = "stream:chunks"
#: A finished call's summary (`pipeline.call_summary`): what the index lists, one row per call.
CALL_SUMMARY_TYPE: Final = "call:summary"
#: Record types that mean a call has finished, one way or another.
COMPLETION_TYPES: Final = (
    RESULT_RECORD_PREFIX + SUCCESS_HOOK,
    RESULT_RECORD_PREFIX + FAILURE_HOOK,
    STREAM_SUMMARY_TYPE,
)

# --- The active policy, shared by every control-plane instance (docs/policies.md, "Hot reload") ---
#: A policy set through `PUT /api/policy` (or the watched file): its YAML, version and base, kept
#: by retention; the newest is the active one.
POLICY_RECORD_TYPE: Final = "policy:active"
#: Bus channel announcing a new active policy (`{"version", "origin"}`); the store holds its YAML.
POLICY_CHANNEL: Final = "luthien:active-policy"

# --- Secret names: the one list the callback (what it sends) and redaction (what is kept) use ---
#: Names (lower-case) whose value is a credential: headers, LiteLLM's secret bags and virtual keys,
#: and the providers' credential parameters as LiteLLM accepts them in a request.
SECRET_NAMES: Final = frozenset(
    {
        # headers
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "x-goog-api-key",
        "x-litellm-api-key",
        "ocp-apim-subscription-key",
        PROXY_TOKEN_HEADER,
        "x-luthien-admin-key",
        "cookie",
        "set-cookie",
        # LiteLLM's own
        "secret_fields",
        "user_api_key",
        "user_api_key_hash",
        "master_key",
        "key",
        # provider credentials
        "api_key",
        "api_keys",
        "credentials",
        "vertex_credentials",
        "vertex_ai_credentials",
        "private_key",
        "private_key_id",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_bedrock_runtime_endpoint_token",
        "azure_ad_token",
        "client_secret",
        "token",
    }
)
#: Any name ending in one of these is a credential too (`x-custom-token`, `access_token`, `db_password`).
SECRET_SUFFIXES: Final = (
    "api_key",
    "api-key",
    "apikey",
    "api_keys",
    "secret",
    "password",
    "passwd",
    "token",
    "credentials",
    "private_key",
    "access_key_id",
    "secret_access_key",
)
#: Keys whose values are content, not configuration: below them a name is the user's, not a
#: credential, so only secret shapes are redacted.
CONTENT_KEYS: Final = frozenset(
    {
        "messages",
        "tools",
        "functions",
        "tool_choice",
        "function_call",
        "response_format",
        "prompt",
        "input",
        "instructions",
        "system",
        "response",
        "chunks",
        "original_text",
        "final_text",
    }
)
