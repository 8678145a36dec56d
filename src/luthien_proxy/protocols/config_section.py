"""`ConfigSection`: a part of a protocol built from one mapping of the policy's YAML config."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from luthien_proxy.policies.host import PolicyHost


class ConfigSection:
    """`from_config` for classes built from a YAML mapping (`monitor:`, `alerts:`, ...) and the
    policy's host: an unknown or missing key is a `ValueError` naming the section, which the loader
    reports in one line."""

    section: ClassVar[str]

    def __init__(self, *, host: PolicyHost) -> None:
        self.host = host

    @classmethod
    def from_config(cls, config: dict[str, Any] | None, host: PolicyHost) -> Self:
        try:
            return cls(**(config or {}), host=host)
        except TypeError as exc:
            raise ValueError(f"{cls.section} config: {exc}") from None
