"""`LoopBoundClient`: one keep-alive httpx client, made on first use and remade under a new loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx


class LoopBoundClient:
    """The `httpx.AsyncClient` that `factory` builds, made when first needed.

    Connections belong to the event loop that opened them, so under a new loop (tests, a policy
    reused after a restart) a fresh client is built rather than a broken pool reused.
    """

    def __init__(self, factory: Callable[[], httpx.AsyncClient]) -> None:
        self._factory = factory
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def current(self) -> httpx.AsyncClient | None:
        """The client made so far, if any."""
        return self._client

    def get(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = self._factory()
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
            self._loop = None
