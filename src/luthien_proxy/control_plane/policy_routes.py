"""`GET /api/policy` (the active policy: name, version, YAML, routes) and `PUT /api/policy` (a new
one, the body the YAML of a policy file): validated, stored, swapped in and announced to the other
instances (`PolicySync`). A refused policy is a 422 naming what is wrong; the running one stays.

Changing the policy needs the admin key, and is refused (403) while the control plane has none: the
agent being policed often runs on this machine, and could otherwise lift its own policy.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from luthien_proxy.control_plane.policy_sync import PolicySync
from luthien_proxy.policies import PolicyConfigError, PolicySet
from luthien_proxy.web.request_body import read_body

router = APIRouter(prefix="/api", tags=["policy"])
#: A policy document is configuration, not data: anything bigger is refused before it is read.
MAX_POLICY_BYTES = 1024 * 1024


def _sync(request: Request) -> PolicySync:
    return request.app.state.services.policy_sync


def describe(policy_set: PolicySet, sync: PolicySync) -> dict[str, Any]:
    """The active set as the API answers it, with what this instance knows of its last failure."""
    return {
        **policy_set.describe(),
        "in_flight": sync.policies.in_flight(policy_set.version),
        "last_error": sync.last_error,
    }


@router.get("/policy")
async def get_policy(request: Request) -> dict[str, Any]:
    """The active policy: `name`, `version` (a hash of its YAML), `yaml` (null when built in code),
    its named `policies`, `routes` and `default`."""
    sync = _sync(request)
    return describe(sync.policies.current, sync)


@router.put(
    "/policy",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/yaml": {"schema": {"type": "string"}}}}
    },
)
async def put_policy(request: Request) -> dict[str, Any]:
    """Make the YAML in the body the active policy of every instance; calls already running finish
    on the policy they started with."""
    if request.app.state.services.settings.admin_key is None:
        raise HTTPException(
            403, detail="changing the policy needs an admin key: set LUTHIEN_ADMIN_KEY on the control plane"
        )
    raw = await read_body(request, MAX_POLICY_BYTES)
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise HTTPException(422, detail="the policy must be UTF-8 YAML text") from None
    if not text.strip():
        raise HTTPException(422, detail="the body is empty: send the YAML of a policy file")
    sync = _sync(request)
    try:
        policy_set = await sync.set(text, source="policy", by="api")
    except PolicyConfigError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return describe(policy_set, sync)
