"""Which LiteLLM routes the LiteLLM door serves: every route LiteLLM 1.106.12 has is classified here.

POLICED: the OpenAI chat, Anthropic Messages and OpenAI Responses (creating a response) dialects,
whose every hook the callback sends to the policy. SERVED: admin, spend, health, docs and UI routes,
and token counting, which generate nothing on a client's behalf (LiteLLM authenticates them).
REFUSED: every other dialect and tool that reaches a model or an upstream (completions, stored
responses, embeddings, images, audio, realtime, batches, files, assistants, MCP, pass-through, ...):
the policy never sees them, so `RouteGate` answers them with a 403.
A route classified nowhere (LiteLLM gained it) is refused too; tests/proxy/test_litellm_routes.py
fails until it is classified. Keys are an endpoint's `module:qualname` or a module name; mounts
are `mount:<path>`. Why each group is where it is: docs/litellm.md, "Routes".
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any


class Verdict(enum.Enum):
    """What the LiteLLM door does with a route."""

    POLICED = "policed"
    SERVED = "served"
    REFUSED = "refused"


def _names(text: str) -> list[str]:
    """Space-separated names: the tables below stay readable at ~100 names."""
    return text.split()


_PS = "litellm.proxy.proxy_server:"
_HEALTH = "litellm.proxy.health_endpoints._health_endpoints:"
_ANTHROPIC = "litellm.proxy.anthropic_endpoints.endpoints:"
_RESPONSES = "litellm.proxy.response_api_endpoints.endpoints:"

#: `/v1/messages` (and the Claude Code gateway's copy of it, one handler) and `POST /v1/responses`
#: run the same hooks as chat. The rest of the Responses module (a stored response read, deleted,
#: cancelled or compacted, its input items, its token count, the WebSocket, Cursor's routes) stays
#: refused with its module.
POLICED_ENDPOINTS = frozenset(
    {_PS + "chat_completion", _ANTHROPIC + "anthropic_response", _RESPONSES + "responses_api"}
)

SERVED_ENDPOINTS = (
    frozenset(
        _PS + name
        for name in _names(
            "alerting_settings cancel_anthropic_beta_headers_reload cancel_model_cost_map_reload "
            "claim_onboarding_link config_yaml_endpoint delete_callback delete_config_general_settings "
            "fallback_login get_adaptive_router_state get_anthropic_beta_headers_reload_status get_config "
            "get_config_general_settings get_config_list get_favicon get_image get_logo_url "
            "get_model_cost_map_reload_status get_model_cost_map_source get_routes home invitation_delete "
            "invitation_info invitation_update login login_v2 login_v3 login_v3_exchange model_deprecations "
            "model_group_info model_info model_info_lookup model_info_v1 model_info_v2 model_list "
            "model_metrics "
            "model_metrics_exceptions model_metrics_slow_responses model_settings model_streaming_metrics "
            "new_invitation onboarding reload_anthropic_beta_headers reload_model_cost_map "
            "schedule_anthropic_beta_headers_reload schedule_model_cost_map_reload supported_openai_params "
            "token_counter transform_request update_config update_config_general_settings"
        )
    )
    | frozenset(
        _HEALTH + name
        for name in _names(
            "active_callbacks health_backlog health_check_history_endpoint health_drain health_endpoint "
            "health_license_endpoint health_liveliness health_liveliness_options health_readiness "
            "health_readiness_details health_readiness_options health_services_endpoint "
            "latest_health_checks_endpoint shared_health_check_status_endpoint test_endpoint"
        )
    )
    | frozenset(
        f"litellm.proxy.pass_through_endpoints.pass_through_endpoints:{verb}_pass_through_endpoints"
        for verb in ("create", "delete", "get", "update")
    )
    | frozenset({"mount:/_next", "mount:/litellm-asset-prefix/_next", "mount:/swagger", "mount:/ui"})
    # A token count generates nothing (forwarded unpoliced, as the native door does); the event
    # logging batch is a stub that answers `ok`.
    | frozenset({_ANTHROPIC + "count_tokens", _ANTHROPIC + "event_logging_batch"})
)

REFUSED_ENDPOINTS = frozenset(
    _PS + name
    for name in _names(
        # Text completions, embeddings, moderations, audio, the queue and assistants/threads: other
        # dialects; MCP and realtime/live: tools and sockets the policy never sees.
        "completion embeddings moderations audio_speech audio_transcriptions async_queue_request "
        "create_assistant get_assistants delete_assistant create_threads get_thread add_messages "
        "get_messages run_thread aggregate_mcp_route dynamic_mcp_route proxy_mcp_route toolset_mcp_route "
        "realtime_websocket_endpoint vertex_ai_live_passthrough_endpoint"
    )
) | frozenset({_HEALTH + "test_model_connection", "mount:/mcp"})

# Admin, spend, settings and UI modules: users, keys, teams, budgets, spend logs, SSO, docs.
SERVED_MODULES = frozenset(
    {"fastapi.applications"}
    | {
        f"litellm.proxy.{name}"
        for name in _names(
            "analytics_endpoints.analytics_endpoints caching_routes common_utils.debug_utils "
            "credential_endpoints.endpoints discovery_endpoints.ui_discovery_endpoints "
            "public_endpoints.public_endpoints public_endpoints.public_v1.model_hub "
            "spend_tracking.cloudzero_endpoints spend_tracking.spend_management_endpoints "
            "spend_tracking.vantage_endpoints ui_crud_endpoints.latest_release_endpoints "
            "ui_crud_endpoints.proxy_setting_endpoints ui_crud_endpoints.user_banner_endpoints"
        )
    }
    | {
        f"litellm.proxy.management_endpoints.{name}"
        for name in _names(
            "access_group_endpoints auto_router_endpoints budget_management_endpoints "
            "cache_settings_endpoints callback_management_endpoints compliance_endpoints "
            "config_override_endpoints coordination_redis_endpoints cost_tracking_settings "
            "customer_endpoints daily_activity_routes fallback_management_endpoints "
            "gateway_request_endpoints internal_user_endpoints jwt_key_mapping_endpoints "
            "key_management_endpoints management_v1.budgets management_v1.spend_logs management_v1.teams "
            "management_v1.users model_access_group_management_endpoints model_insights_endpoints "
            "model_management_endpoints organization_endpoints password_endpoints prompt_cache_prediction "
            "prompt_caching_requests router_settings_endpoints scim.scim_v2 session_endpoints "
            "tag_management_endpoints team_callback_endpoints team_endpoints ui_sso "
            "user_agent_analytics_endpoints workflow_management_endpoints"
        )
    }
    | {
        "litellm_enterprise.enterprise_callbacks.send_emails.endpoints",
        "litellm_enterprise.proxy.audit_logging_endpoints",
        "litellm_enterprise.proxy.enterprise_routes",
        "litellm_enterprise.proxy.management_endpoints.internal_user_endpoints",
        "litellm_enterprise.proxy.management_endpoints.project_endpoints",
    }
)

# Modules whose routes reach a model, an upstream or a tool in a dialect no policy sees yet.
REFUSED_MODULES = frozenset(
    f"litellm.proxy.{name}"
    for name in _names(
        "_experimental.mcp_server.byok_oauth_endpoints _experimental.mcp_server.discoverable_endpoints "
        "_experimental.mcp_server.rest_endpoints _lazy_features a2a.endpoints agent_endpoints.a2a_endpoints "
        "agent_endpoints.endpoints anthropic_endpoints.claude_code_endpoints.claude_code_marketplace "
        "anthropic_endpoints.endpoints anthropic_endpoints.gateway_endpoints "
        "anthropic_endpoints.skills_endpoints "
        "batches_endpoints.endpoints container_endpoints.endpoints container_endpoints.handler_factory "
        "decisions_endpoints.endpoints discovery_endpoints.agent_skills_endpoints "
        "fine_tuning_endpoints.endpoints "
        "google_endpoints.agents_endpoints google_endpoints.endpoints guardrails.guardrail_endpoints "
        "guardrails.usage_endpoints image_endpoints.endpoints lens.dataset_endpoints lens.endpoints "
        "lens.feedback_endpoints logging_endpoints.callback_logs_endpoints "
        "management_endpoints.mcp_management_endpoints management_endpoints.policy_endpoints.endpoints "
        "management_endpoints.tool_management_endpoints management_endpoints.usage_endpoints.endpoints "
        "memory.memory_endpoints moyai_endpoints ocr_endpoints.endpoints openai_evals_endpoints.endpoints "
        "openai_files_endpoints.files_endpoints pass_through_endpoints.codex_passthrough_endpoints "
        "pass_through_endpoints.llm_passthrough_endpoints "
        "pass_through_endpoints.openai_passthrough_endpoints "
        "pass_through_endpoints.pass_through_endpoints plugin_routes policy_engine.policy_endpoints "
        "policy_engine.policy_resolve_endpoints prompts.prompt_endpoints rag_endpoints.endpoints "
        "realtime_endpoints.endpoints rerank_endpoints.endpoints response_api_endpoints.endpoints "
        "search_endpoints.endpoints search_endpoints.search_tool_management tracing_endpoints "
        "vector_store_endpoints.endpoints vector_store_endpoints.management_endpoints "
        "vector_store_files_endpoints.endpoints vertex_ai_endpoints.langfuse_endpoints "
        "video_endpoints.endpoints"
    )
) | frozenset({"litellm_enterprise.proxy.liteadmin"})


def route_key(route: Any) -> str:
    """The classification key of a route: its endpoint's `module:qualname`, or `mount:<path>`."""
    endpoint: Callable[..., Any] | None = getattr(route, "endpoint", None)
    if endpoint is None:
        return f"mount:{getattr(route, 'path', '')}"
    return f"{endpoint.__module__}:{endpoint.__qualname__}"


def classify(key: str) -> Verdict | None:
    """The verdict for a route key; None when it is not classified (the gate refuses those too)."""
    if key in POLICED_ENDPOINTS:
        return Verdict.POLICED
    if key in SERVED_ENDPOINTS:
        return Verdict.SERVED
    if key in REFUSED_ENDPOINTS:
        return Verdict.REFUSED
    module = key.partition(":")[0]
    if module in SERVED_MODULES:
        return Verdict.SERVED
    if module in REFUSED_MODULES:
        return Verdict.REFUSED
    return None
