"""The callback's HTTP hooks against the fake control plane (in-process) and against failures."""

import httpx
import pytest
from fastapi import HTTPException
from litellm.types.utils import ModelResponse

from luthien_proxy.call_scope import scoped_id
from luthien_proxy.doors.litellm.callback.callback_config import CallbackConfig
from luthien_proxy.doors.litellm.callback.control_plane_client import ControlPlaneClient
from luthien_proxy.doors.litellm.callback.litellm_callback import LuthienCallback
from luthien_proxy.tooling.stack.processes import free_port
from tests.proxy.fake_control_plane import TOKEN, FakeControlPlane
from tests.proxy.payloads import hook_data, model_response

pytestmark = pytest.mark.asyncio


class _UserKey:
    """Stands in for UserAPIKeyAuth; an opaque object must not leak its attributes."""

    api_key = "sk-user-raw"
    token = "sk-user-hash"


def _callback(fake: FakeControlPlane | None = None, *, fail_open: bool = False, **kw) -> LuthienCallback:
    url = f"http://127.0.0.1:{free_port()}"
    config = CallbackConfig(control_plane_url=url, proxy_token=TOKEN, fail_open=fail_open, timeout_s=2, **kw)
    cb = LuthienCallback(config)
    if fake is not None:
        cb.client = ControlPlaneClient(config, transport=httpx.ASGITransport(app=fake.app))
    return cb


async def test_pre_call_sends_ids_without_secrets_and_applies_edits() -> None:
    fake = FakeControlPlane()
    cb = _callback(fake)
    data = hook_data("rewrite-me")
    result = await cb.async_pre_call_hook(_UserKey(), None, data, "acompletion")
    assert result["messages"][0]["content"] == "rewritten"
    assert result["secret_fields"] is data["secret_fields"]
    hook, body = fake.hook_bodies[0]
    assert hook == "async_pre_call_hook"
    # In the namespace of the caller's key (its token), so no other key can write into this call.
    assert body["litellm_call_id"] == scoped_id("sk-user-hash", "call-123")
    assert body["litellm_trace_id"] == scoped_id("sk-user-hash", "trace-9")
    assert body["call_type"] == "acompletion"
    raw = b"".join(fake.raw_bodies)
    for secret in (b"sk-master-secret", b"sk-upstream-secret", b"sk-user-raw", b"sk-user-hash"):
        assert secret not in raw
    await cb.client.aclose()


async def test_pre_call_rejection_becomes_http_exception() -> None:
    cb = _callback(FakeControlPlane())
    with pytest.raises(HTTPException) as info:
        await cb.async_pre_call_hook(_UserKey(), None, hook_data("something forbidden"), "acompletion")
    assert info.value.status_code == 403
    assert info.value.detail == "Prompt mentions a forbidden topic"
    await cb.client.aclose()


async def test_post_call_success_replaces_changedmodel_response() -> None:
    fake = FakeControlPlane()
    cb = _callback(fake)
    new = await cb.async_post_call_success_hook(hook_data("hi"), _UserKey(), model_response("You said: hi"))
    assert isinstance(new, ModelResponse)
    assert new.choices[0].message.content == "YOU SAID: HI"
    assert fake.hook_bodies[0][1]["litellm_call_id"] == scoped_id("sk-user-hash", "call-123")
    await cb.client.aclose()


async def test_post_call_success_unchanged_returns_none() -> None:
    cb = _callback(FakeControlPlane())
    assert (
        await cb.async_post_call_success_hook(hook_data("hi"), _UserKey(), model_response("ALREADY UPPER"))
        is None
    )
    await cb.client.aclose()


async def test_failure_hook_reports_and_never_raises() -> None:
    fake = FakeControlPlane()
    cb = _callback(fake)
    assert await cb.async_post_call_failure_hook(hook_data("hi"), RuntimeError("boom"), _UserKey()) is None
    hook, body = fake.hook_bodies[0]
    assert hook == "async_post_call_failure_hook"
    assert body["original_exception"] == "boom" and "request_data" in body
    down = _callback()
    assert await down.async_post_call_failure_hook(hook_data("hi"), RuntimeError("boom"), _UserKey()) is None
    await cb.client.aclose()


async def test_fail_closed_when_control_plane_is_down() -> None:
    cb = _callback()
    with pytest.raises(HTTPException) as info:
        await cb.async_pre_call_hook(_UserKey(), None, hook_data("hi"), "acompletion")
    assert info.value.status_code == 503
    assert "fail-closed" in info.value.detail
    with pytest.raises(HTTPException):
        await cb.async_post_call_success_hook(hook_data("hi"), _UserKey(), model_response("x"))
    await cb.client.aclose()


async def test_fail_open_passes_original_through() -> None:
    cb = _callback(fail_open=True)
    data = hook_data("hi")
    assert await cb.async_pre_call_hook(_UserKey(), None, data, "acompletion") is data
    assert await cb.async_post_call_success_hook(data, _UserKey(), model_response("x")) is None
    await cb.client.aclose()


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected", "message"),
    [
        (500, {}, {"detail": "internal error"}, 502, "answered HTTP 500"),
        (401, {}, {"detail": "bad token"}, 502, "LUTHIEN_PROXY_TOKEN"),
        (403, {"x-luthien-decision": "reject"}, {"error": {"message": "nope"}}, 403, "nope"),
        (413, {}, {"detail": "request body is 99 bytes; the limit is 10"}, 413, "the limit is 10"),
        (422, {}, {"detail": "choices must be a list"}, 422, "choices must be a list"),
    ],
)
@pytest.mark.parametrize("fail_open", [False, True])
async def test_an_answer_from_the_control_plane_is_never_failed_open(
    status: int, headers: dict, body: dict, expected: int, message: str, fail_open: bool
) -> None:
    """A 4xx reaches the client as that 4xx with its message; a 5xx or a refused token is blocked:
    in both modes, since a client can provoke them (a body over the limit gets a 413)."""

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, json=body)

    cb = _callback(fail_open=fail_open)
    cb.client = ControlPlaneClient(cb.config, transport=httpx.MockTransport(handler))
    for hook in (
        cb.async_pre_call_hook(_UserKey(), None, hook_data("hi"), "acompletion"),
        cb.async_post_call_success_hook(hook_data("hi"), _UserKey(), model_response("x")),
    ):
        with pytest.raises(HTTPException) as info:
            await hook
        assert info.value.status_code == expected
        assert message in info.value.detail
    await cb.client.aclose()


async def test_timeout_is_a_control_plane_failure() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    cb = _callback()
    cb.client = ControlPlaneClient(cb.config, transport=httpx.MockTransport(handler))
    with pytest.raises(HTTPException) as info:
        await cb.async_pre_call_hook(_UserKey(), None, hook_data("hi"), "acompletion")
    assert info.value.status_code == 504
    await cb.client.aclose()
    fail_open = _callback(fail_open=True)
    fail_open.client = ControlPlaneClient(fail_open.config, transport=httpx.MockTransport(handler))
    data = hook_data("hi")
    assert await fail_open.async_pre_call_hook(_UserKey(), None, data, "acompletion") is data
    await fail_open.client.aclose()


async def test_one_http_client_is_reused() -> None:
    cb = _callback(FakeControlPlane())
    await cb.async_pre_call_hook(_UserKey(), None, hook_data("a"), "acompletion")
    first = cb.client.http.current
    await cb.async_pre_call_hook(_UserKey(), None, hook_data("b"), "acompletion")
    assert cb.client.http.current is first
    await cb.client.aclose()
