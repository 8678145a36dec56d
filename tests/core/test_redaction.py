"""Secrets are redacted from records by credential name (outside content) and by shape (everywhere);
what is forwarded keeps what the client sent."""

from __future__ import annotations

from luthien_proxy import redaction
from luthien_proxy.doors.litellm.callback import sanitize
from luthien_proxy.doors.litellm.callback.sanitize import merge_request, request_payload
from luthien_proxy.pipeline import identity_of
from luthien_proxy.redaction import REDACTED, redact, redact_encoded, redact_text
from tests.support.imports import loaded_modules


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


# What a client may legitimately send: names that look like credentials inside content.
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "login",
            "description": "Log in",
            "parameters": {
                "type": "object",
                "properties": {"password": {"type": "string"}, "api_key": {"type": "string"}},
            },
        },
    }
]
RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "grant",
        "schema": {"type": "object", "properties": {"access_token": {"type": "string"}}},
    },
}
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBhcnQ"
SHAPED = {
    "sk-proj-4f9a8b7c6d5e4f3a2b1c": "[REDACTED]",
    "AKIAIOSFODNN7EXAMPLE": "[REDACTED]",
    PEM: "[REDACTED]",
    JWT: "[REDACTED]",
    "Authorization: Bearer 9f8e7d6c5b4a39281706": "Authorization: Bearer [REDACTED]",
}


def test_names_mean_credentials_only_outside_content() -> None:
    data = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi", "name": "password"}],
        "tools": TOOLS,
        "response_format": RESPONSE_FORMAT,
        "vertex_credentials": '{"type": "service_account"}',
        "private_key": "k",
        "credentials": {"x": 1},
        "api_keys": ["a", "b"],
        "aws_access_key_id": "id",
        "key": "the master key from ?key=",
        "extra_headers": {"X-Api-Key": "h", "x-custom-token": "t", "accept": "*/*"},
    }
    cleaned = redact({"data": data})["data"]
    assert cleaned["tools"] == TOOLS
    assert cleaned["response_format"] == RESPONSE_FORMAT
    assert cleaned["messages"] == data["messages"]
    for name in ("vertex_credentials", "private_key", "credentials", "api_keys", "aws_access_key_id", "key"):
        assert cleaned[name] == REDACTED, name
    assert cleaned["extra_headers"] == {"X-Api-Key": REDACTED, "x-custom-token": REDACTED, "accept": "*/*"}


def test_secret_shapes_are_replaced_wherever_they_are_and_nothing_else() -> None:
    for secret, expected in SHAPED.items():
        text = f"before {secret} after"
        assert redact_text(text) == f"before {expected} after"
        record = redact({"data": {"messages": [{"content": text}], "tools": [{"description": text}]}})
        assert record["data"]["messages"][0]["content"] == f"before {expected} after"
        assert record["data"]["tools"][0]["description"] == f"before {expected} after"
    prose = "a risk-free task-based-approach-for-everyone; the bearer responsibilities of AKIA"
    assert redact_text(prose) == prose
    assert (
        redact_encoded(b'{"content":"key sk-ant-api03-abcdefghijklmnopqrst"}')
        == b'{"content":"key [REDACTED]"}'
    )


def test_the_callback_sends_content_as_the_client_sent_it() -> None:
    data = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": TOOLS,
        "response_format": RESPONSE_FORMAT,
        "api_key": "sk-provider",
        "vertex_credentials": "creds",
        "aws_secret_access_key": "aws",
        "litellm_metadata": {"headers": {"authorization": "Bearer sk-client"}, "trace_id": "t"},
    }
    sent = request_payload(data)
    assert sent["tools"] == TOOLS and sent["response_format"] == RESPONSE_FORMAT
    for name in ("api_key", "vertex_credentials", "aws_secret_access_key"):
        assert name not in sent
    assert sent["litellm_metadata"] == {"trace_id": "t"}, "the client's headers stay in LiteLLM"
    edited = {**sent, "messages": [{"role": "user", "content": "edited"}]}
    merged = merge_request(data, sent, edited)
    assert merged["tools"] is TOOLS and merged["response_format"] is RESPONSE_FORMAT
    assert merged["api_key"] == "sk-provider"
    assert merged["messages"] == [{"role": "user", "content": "edited"}]


def test_one_list_of_secret_names_and_the_callback_imports_it_cheaply() -> None:
    assert sanitize.is_secret_name is redaction.is_secret_name
    heavy = {"sqlalchemy", "redis", "luthien_proxy.policies", "luthien_proxy.backends.store"}
    assert heavy & loaded_modules("import luthien_proxy.doors.litellm.callback.sanitize") == set()
