"""Every dialect by the name a door or the callback sends (`wire.DIALECT_KEY`)."""

from __future__ import annotations

from luthien_proxy.dialects.anthropic_messages import ANTHROPIC_MESSAGES
from luthien_proxy.dialects.dialect import Dialect
from luthien_proxy.dialects.openai_chat import OPENAI_CHAT
from luthien_proxy.dialects.openai_responses import OPENAI_RESPONSES
from luthien_proxy.wire import DIALECT_KEY

DIALECTS: dict[str, Dialect] = {
    dialect.name: dialect for dialect in (OPENAI_CHAT, ANTHROPIC_MESSAGES, OPENAI_RESPONSES)
}


class UnknownDialect(ValueError):
    """A payload named a dialect Luthien does not speak; the message lists the ones it does."""


def dialect_named(name: object) -> Dialect:
    """The dialect called `name`; OpenAI chat when `name` is None (every payload before dialects)."""
    if name is None:
        return OPENAI_CHAT
    found = DIALECTS.get(name) if isinstance(name, str) else None
    if found is None:
        raise UnknownDialect(f"unknown dialect {name!r}: expected one of {sorted(DIALECTS)}")
    return found


def dialect_field(dialect: Dialect) -> dict[str, str]:
    """What a payload or record carries to name `dialect`: nothing for OpenAI chat, so the records
    of that dialect keep the shape they had before there were others."""
    return {} if dialect is OPENAI_CHAT else {DIALECT_KEY: dialect.name}
