"""Secrets never leave the proxy; policy edits merge back without losing them."""

import datetime as dt

from pydantic import BaseModel

from luthien_proxy.doors.litellm.callback.sanitize import (
    merge_request,
    request_payload,
    to_jsonable,
    user_key_payload,
)


class _Opaque:
    def __repr__(self) -> str:
        return "Opaque(api_key=sk-leak)"


class _Key(BaseModel):
    api_key: str | None = "sk-raw"
    token: str = "hashed"
    user_id: str = "u1"


def _data() -> dict:
    return {
        "model": "demo-echo",
        "messages": [{"role": "user", "content": "hi"}],
        "api_key": "sk-body",
        "secret_fields": {"raw_headers": {"authorization": "Bearer sk-master"}},
        "metadata": {
            "headers": {"Authorization": "Bearer sk-master", "x-api-key": "sk-x", "accept": "*/*"},
            "trace_id": "trace-1",
            "user_api_key_alias": "team-key",
        },
        "deployment": {"litellm_params": {"api_key": "sk-upstream", "model": "openai/demo-echo"}},
        "litellm_logging_obj": _Opaque(),
        "proxy_server_request": {"received": dt.datetime(2024, 1, 1)},
        "litellm_call_id": "call-1",
    }


def test_request_payload_strips_secrets_and_opaque_objects() -> None:
    text = repr(request_payload(_data()))
    for secret in ("sk-body", "sk-master", "sk-x", "sk-upstream", "sk-leak"):
        assert secret not in text
    payload = request_payload(_data())
    assert payload["metadata"] == {"trace_id": "trace-1", "user_api_key_alias": "team-key"}
    for plumbing in ("secret_fields", "litellm_logging_obj", "deployment", "proxy_server_request"):
        assert plumbing not in payload
    assert (payload["model"], payload["litellm_call_id"]) == ("demo-echo", "call-1")


def test_unknown_objects_become_type_markers() -> None:
    assert to_jsonable({"x": _Opaque()}) == {"x": "<_Opaque>"}


def test_user_key_payload_drops_key_and_token() -> None:
    assert user_key_payload(_Key()) == {"user_id": "u1"}


def test_user_key_payload_names_the_team_routing_chooses_by() -> None:
    from litellm.proxy._types import UserAPIKeyAuth

    key = UserAPIKeyAuth(
        api_key="sk-raw-key", token="hashed", key_alias="ci", team_id="t1", team_alias="research"
    )
    assert user_key_payload(key) == {"team_id": "t1", "team_alias": "research", "key_alias": "ci"}


def test_merge_keeps_secrets_and_plumbing_and_applies_edits() -> None:
    data = _data()
    sent = request_payload(data)
    result = {**sent, "messages": [{"role": "user", "content": "edited"}], "temperature": 0.1}
    result["metadata"] = {"evil": True}
    merged = merge_request(data, sent, result)
    assert merged["messages"] == [{"role": "user", "content": "edited"}]
    assert merged["temperature"] == 0.1
    assert merged["api_key"] == "sk-body"
    assert merged["secret_fields"] is data["secret_fields"]
    assert merged["litellm_logging_obj"] is data["litellm_logging_obj"]
    assert merged["metadata"] is data["metadata"]
    assert merged["deployment"] is data["deployment"]


def test_merge_removes_fields_the_policy_dropped() -> None:
    data = {"model": "m", "messages": [], "tools": [{"type": "function"}]}
    sent = request_payload(data)
    merged = merge_request(data, sent, {"model": "m", "messages": []})
    assert "tools" not in merged


def test_merge_ignores_non_object_result() -> None:
    data = {"model": "m"}
    assert merge_request(data, request_payload(data), None) is data
