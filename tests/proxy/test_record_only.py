"""Hooks the policy does not implement are recorded without making the request wait; the rest,
and everything while the control plane misbehaves, are awaited (so fail-closed applies)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from luthien_proxy.control_plane import create_app
from luthien_proxy.policies import AllCapsPolicy, NoOpPolicy
from luthien_proxy.proxy.callback_config import CallbackConfig
from luthien_proxy.proxy.control_plane_client import ControlPlaneClient
from luthien_proxy.proxy.litellm_callback import LuthienCallback
from tests.conftest import OpenServices, api_client


def _callback(transport: httpx.AsyncBaseTransport) -> LuthienCallback:
    callback = LuthienCallback(CallbackConfig(control_plane_url="http://control-plane", timeout_s=2))
    callback.client = ControlPlaneClient(callback.config, transport=transport)
    return callback


def _data(call_id: str) -> dict[str, Any]:
    return {"model": "demo-echo", "messages": [{"role": "user", "content": "hi"}], "litellm_call_id": call_id}


async def test_the_control_plane_says_which_hooks_its_policy_implements(open_services: OpenServices) -> None:
    noop, caps = await open_services(NoOpPolicy()), await open_services(AllCapsPolicy())
    async with api_client(noop) as client:
        assert (await client.get("/api/hooks/policy")).json() == {"policy": "NoOpPolicy", "policed_hooks": []}
    async with api_client(caps) as client:
        assert (await client.get("/api/hooks/policy")).json()["policed_hooks"] == [
            "async_post_call_success_hook",
            "async_post_call_streaming_iterator_hook",
        ]


async def test_unpoliced_hooks_are_recorded_in_the_background(open_services: OpenServices) -> None:
    services = await open_services(NoOpPolicy())
    callback = _callback(httpx.ASGITransport(app=create_app(services.settings, services)))
    data = _data("bg-1")
    result = await callback.async_pre_call_hook(None, None, data, "acompletion")
    assert result is data, "nothing to police: the request goes on unchanged, at once"
    assert len(callback._recording) == 1
    await asyncio.gather(*callback._recording)
    await services.writer.flush()
    kinds = [r.debug_type_identifier for r in await services.store.by_call_id("bg-1")]
    assert kinds == ["hook:async_pre_call_hook", "hook_result:async_pre_call_hook"]
    await callback.client.aclose()


async def test_policed_hooks_are_awaited(open_services: OpenServices) -> None:
    services = await open_services(AllCapsPolicy())
    callback = _callback(httpx.ASGITransport(app=create_app(services.settings, services)))
    assert await callback._record_only("async_pre_call_hook")
    assert not await callback._record_only("async_post_call_success_hook")
    await callback.client.aclose()


async def test_a_failed_background_record_makes_every_hook_wait_again(open_services: OpenServices) -> None:
    services = await open_services(NoOpPolicy())
    app = create_app(services.settings, services)
    callback = _callback(httpx.ASGITransport(app=app))
    assert await callback._record_only("async_pre_call_hook")
    callback.client._transport = httpx.MockTransport(lambda request: httpx.Response(503))  # the plane is gone
    callback.client._client = None
    await callback.async_pre_call_hook(None, None, _data("bg-2"), "acompletion")
    await asyncio.gather(*callback._recording)
    assert not await callback._record_only("async_pre_call_hook")
    with pytest.raises(Exception, match="fail-closed"):
        await callback.async_pre_call_hook(None, None, _data("bg-3"), "acompletion")
    await callback.client.aclose()
