"""`ConfigSection`: a part of a protocol built from one mapping of the policy's YAML config."""

from __future__ import annotations

from typing import Any, ClassVar, Self


class ConfigSection:
    """`from_config` for classes built from a YAML mapping (`monitor:`, `alerts:`, ...): an unknown
    or missing key is a `ValueError` naming the section, which the loader reports in one line."""

    section: ClassVar[str]

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> Self:
        try:
            return cls(**(config or {}))
        except TypeError as exc:
            raise ValueError(f"{cls.section} config: {exc}") from None
