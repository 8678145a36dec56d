"""`JSONBody`: a JSON response encoded with orjson, for bodies that are already plain data."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSONBody(Response):
    """Encodes with orjson, skipping FastAPI's model validation on paths where speed matters."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
