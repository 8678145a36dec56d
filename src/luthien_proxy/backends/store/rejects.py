"""Records the database would reject: repaired before they are queued, or told apart from an outage.

Postgres refuses NUL in text and in JSONB (`\\u0000`), which SQLite stores: a prompt containing
one must neither stop the writer nor be stored differently by the two backends. Every NUL is
replaced by U+FFFD, the Unicode replacement character, in both (one character for one, and never
confused with text a client could have meant). A record that fails anyway is set aside, and what
is said about it names the error's type and SQLSTATE only: driver messages, and SQLAlchemy's
`str()` of an error (which appends the statement's parameters), can quote the record itself.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import exc as sa_exc

from luthien_proxy.backends.store.store import DebugRecord, EncodedJson
from luthien_proxy.wire import CALL_ID_KEY, TRACE_ID_KEY

NUL = "\x00"
NUL_REPLACEMENT = "\ufffd"
#: The debug type of a record that could not be encoded at all (no JSON form).
UNENCODABLE = "debug_log:unencodable"
# SQLSTATE classes that blame the data, not the server: data exception, integrity constraint
# violation, program limit exceeded (a document too large).
_DATA_SQLSTATE_CLASSES = ("22", "23", "54")


def encode(debug_type: str, blob: dict[str, Any]) -> tuple[str, EncodedJson]:
    """The record's type and JSON text as both backends accept them (NUL replaced)."""
    if NUL in debug_type:
        debug_type = debug_type.replace(NUL, NUL_REPLACEMENT)
    try:
        encoded = orjson.dumps(blob).decode()
    except (orjson.JSONEncodeError, TypeError) as exc:
        # Not JSON at all (a lone surrogate, an int past 64 bits): keep the ids if they can be, say why.
        body = _placeholder(blob, debug_type, exc)
        try:
            return UNENCODABLE, EncodedJson(orjson.dumps(body).decode())
        except orjson.JSONEncodeError:
            return UNENCODABLE, EncodedJson(orjson.dumps({"set_aside": body["set_aside"]}).decode())
    # orjson writes NUL as this escape; the check is cheap, the walk only runs when needed (a
    # literal backslash-u0000 in the text also matches, and is then left as it is by the walk).
    if "\\u0000" in encoded:
        encoded = orjson.dumps(without_nul(blob)).decode()
    return debug_type, EncodedJson(encoded)


def without_nul(value: Any) -> Any:
    """A copy of `value` with NUL replaced in every string, keys included."""
    if isinstance(value, str):
        return value.replace(NUL, NUL_REPLACEMENT)
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(item) for item in value]
    return value


def blames_the_record(exc: BaseException) -> bool:
    """Whether the database refused this data (as opposed to being unreachable or failing)."""
    if isinstance(exc, sa_exc.DataError | sa_exc.IntegrityError):
        return True
    if isinstance(exc, sa_exc.StatementError) and not isinstance(exc, sa_exc.DBAPIError):
        return True  # the parameters could not even be bound
    sqlstate = _sqlstate(exc)
    return sqlstate is not None and sqlstate[:2] in _DATA_SQLSTATE_CLASSES


def describe(exc: BaseException) -> str:
    """The error's type (the driver's, when SQLAlchemy wraps one) and SQLSTATE; never the message of
    a database error. A socket error's message (no data in it) says which server could not be reached."""
    inner = exc
    while inner.__cause__ is not None:
        inner = inner.__cause__
    if isinstance(inner, OSError) and str(inner):
        return f"{type(inner).__name__}: {str(inner).splitlines()[0]}"
    sqlstate = _sqlstate(exc)
    return type(inner).__name__ + (f" (SQLSTATE {sqlstate})" if sqlstate else "")


def _sqlstate(exc: BaseException) -> str | None:
    for candidate in (exc, getattr(exc, "orig", None), exc.__cause__):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str) and code:
            return code
    return None


def placeholder(record: DebugRecord, exc: BaseException) -> DebugRecord:
    """What is stored instead of a record the database refused: its ids, hook and the error type,
    under the record's own type (so a call's completion still shows)."""
    try:
        # str(): orjson takes no subclass of str (`EncodedJson`).
        blob = orjson.loads(str(record.jsonblob)) if isinstance(record.jsonblob, str) else record.jsonblob
    except orjson.JSONDecodeError:
        blob = {}
    body = _placeholder(blob if isinstance(blob, dict) else {}, record.debug_type_identifier, exc)
    return DebugRecord(
        record.debug_type_identifier,
        EncodedJson(orjson.dumps(without_nul(body)).decode()),
        record.time_created,
    )


def _placeholder(blob: dict[str, Any], debug_type: str, exc: BaseException) -> dict[str, Any]:
    kept = {key: blob.get(key) for key in (CALL_ID_KEY, TRACE_ID_KEY, "hook")}
    ids = {key: value if isinstance(value, str) else None for key, value in kept.items()}
    return {**ids, "set_aside": {"debug_type": debug_type, "error": describe(exc)}}
