"""A hook the policy takes longer to answer than the callback waits for a silent control plane (a
judge, a call held for audit): the control plane answers late — spaces while it works, then the
wrapped answer — and the callback's client reads the answer it would have had, a rejection included.
The real control-plane app and the callback's `ControlPlaneClient`, over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from luthien_proxy.control_plane import create_app
from luthien_proxy.doors.litellm.callback.callback_config import CallbackConfig
from luthien_proxy.doors.litellm.callback.control_plane_client import ControlPlaneClient
from luthien_proxy.doors.litellm.callback.errors import PolicyRejected
from luthien_proxy.model import Response
from luthien_proxy.policies import LuthienPolicy, PolicyContext, PolicyRejection
from luthien_proxy.wire import SUCCESS_HOOK
from tests.conftest import OpenServices
from tests.control_plane.test_hooks_api import success_payload
from tests.support.live_server import serve_app

pytestmark = pytest.mark.parametrize("backend", ["embedded"], indirect=True)

TIMEOUT_S = 0.3
#: Three times what the callback waits for a silent control plane.
WORK_S = 3 * TIMEOUT_S


class SlowPolicy(LuthienPolicy):
    """Works on a response for `WORK_S`, then upper-cases it, or refuses it when it says 'refuse'."""

    async def on_response(self, response: Response, ctx: PolicyContext) -> Response | None:
        await asyncio.sleep(WORK_S)
        if "refuse" in response.text():
            raise PolicyRejection("a person denied it", status_code=451)
        return response.map_text(str.upper)


@pytest.fixture
async def client(open_services: OpenServices) -> AsyncIterator[ControlPlaneClient]:
    services = await open_services(
        SlowPolicy(), control_plane_timeout_seconds=TIMEOUT_S, stream_keepalive_seconds=0.05
    )
    async with serve_app(create_app(services.settings, services)) as address:
        hooks = ControlPlaneClient(CallbackConfig(control_plane_url=f"http://{address}", timeout_s=TIMEOUT_S))
        try:
            yield hooks
        finally:
            await hooks.aclose()


async def test_a_late_answer_is_the_policed_response(client: ControlPlaneClient) -> None:
    result = await client.call_hook(SUCCESS_HOOK, success_payload("late-1", "hello back"))
    assert result["response"]["choices"][0]["message"]["content"] == "HELLO BACK"


async def test_a_late_rejection_keeps_its_status_and_message(client: ControlPlaneClient) -> None:
    with pytest.raises(PolicyRejected) as info:
        await client.call_hook(SUCCESS_HOOK, success_payload("late-2", "refuse this"))
    assert (info.value.status_code, info.value.message) == (451, "a person denied it")
