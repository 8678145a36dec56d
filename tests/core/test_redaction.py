"""Secrets are removed by key name wherever they sit; message content is never touched."""

from __future__ import annotations

from luthien_proxy.pipeline import REDACTED, identity_of, redact


def test_secret_fields_headers_and_keys_are_redacted_at_any_depth() -> None:
    payload = {
        "data": {
            "messages": [{"role": "user", "content": "my api_key is in the text, Bearer abc"}],
            "secret_fields": {"raw_headers": {"authorization": "Bearer sk-live-123"}},
            "proxy_server_request": {"headers": {"Authorization": "Bearer sk-live-123", "accept": "*/*"}},
            "metadata": {"user_api_key": "hashed-virtual-key", "user_api_key_alias": "team-a"},
            "api_key": "sk-provider-456",
        },
        "user_api_key_dict": {"api_key": "sk-virtual-789", "token": "tok-000", "team_id": "t1"},
    }
    cleaned = redact(payload)
    text = repr(cleaned)
    for secret in ("sk-live-123", "hashed-virtual-key", "sk-provider-456", "sk-virtual-789", "tok-000"):
        assert secret not in text
    assert cleaned["data"]["secret_fields"] == REDACTED
    assert cleaned["data"]["proxy_server_request"]["headers"]["accept"] == "*/*"
    assert cleaned["data"]["messages"][0]["content"] == "my api_key is in the text, Bearer abc"
    assert cleaned["user_api_key_dict"]["team_id"] == "t1"
    assert payload["data"]["api_key"] == "sk-provider-456", "redaction must copy, not mutate"


def test_identity_found_at_top_level_in_request_or_metadata() -> None:
    assert identity_of({"litellm_call_id": "c1", "litellm_trace_id": "t1"}).call_id == "c1"
    ids = identity_of({"data": {"litellm_call_id": "c2", "metadata": {"trace_id": "t2"}}})
    assert (ids.call_id, ids.trace_id) == ("c2", "t2")
    ids = identity_of({"request_data": {"litellm_call_id": "c3", "litellm_trace_id": "t3"}})
    assert (ids.call_id, ids.trace_id) == ("c3", "t3")
    assert identity_of({"data": {"messages": []}}).call_id is None


def test_token_named_headers_are_redacted_but_model_output_is_not() -> None:
    payload = {
        "data": {"proxy_server_request": {"headers": {"x-custom-token": "s3cr3t", "x-request-id": "r1"}}},
        "response": {"choices": [{"logprobs": {"content": [{"token": "hello", "logprob": -0.1}]}}]},
    }
    cleaned = redact(payload)
    headers = cleaned["data"]["proxy_server_request"]["headers"]
    assert headers == {"x-custom-token": REDACTED, "x-request-id": "r1"}
    assert cleaned["response"] == payload["response"]
