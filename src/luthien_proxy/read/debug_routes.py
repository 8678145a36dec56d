"""Debug browsing APIs over `debug_logs`: types with counts, newest records, pages with totals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from luthien_proxy.read.sources import ReadSources, read_sources

router = APIRouter(prefix="/api/debug", tags=["debug"])

Sources = Annotated[ReadSources, Depends(read_sources)]


@router.get("/types")
async def debug_types(sources: Sources) -> dict[str, Any]:
    """Every debug record type with its count and newest time."""
    return {"types": await sources.store.types()}


@router.get("/{debug_type}")
async def latest_records(
    debug_type: str,
    sources: Sources,
    limit: Annotated[int, Query(ge=1, le=1000, description="how many records, newest first")] = 50,
) -> dict[str, Any]:
    """The newest records of one type."""
    records = await sources.store.latest(debug_type, limit)
    return {"debug_type_identifier": debug_type, "records": [r.to_json() for r in records]}


@router.get("/{debug_type}/page")
async def records_page(
    debug_type: str,
    sources: Sources,
    page: Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number")] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """One page of a type's records, newest first, with the total count."""
    total = await sources.store.count(debug_type)
    records = await sources.store.latest(debug_type, page_size, offset=(page - 1) * page_size)
    return {
        "debug_type_identifier": debug_type,
        "page": page,
        "page_size": page_size,
        "total": total,
        "pages": (total + page_size - 1) // page_size,
        "records": [r.to_json() for r in records],
    }
