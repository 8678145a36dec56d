"""Narrowing wire JSON without trusting it: what every dialect's codec reads a provider's JSON with."""

from __future__ import annotations

from typing import Any, cast

Json = dict[str, Any]


def json_object(value: Any) -> Json | None:
    """`value` when it is a JSON object, else None."""
    return cast("Json", value) if isinstance(value, dict) else None


def json_list(value: Any) -> list[Any] | None:
    """`value` when it is a JSON array, else None."""
    return cast("list[Any]", value) if isinstance(value, list) else None
