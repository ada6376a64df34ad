"""The vendor's list envelope: one items key plus the paging keys, page URIs relative."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode


def envelope(
    key: str,
    items: Sequence[Any],
    path: str,
    common: list[tuple[str, str]],
    page: int,
    size: int,
    count: int,
) -> dict[str, Any]:
    """Page ``page`` (of ``size``) of a listing of ``count`` items; ``items`` are its own
    items, already shaped; ``common`` are the query parameters every page URI carries."""

    def uri(number: int) -> str:
        paging = [("PageSize", str(size)), ("Page", str(number)), ("PageToken", f"PA{number}")]
        return f"{path}?{urlencode(common + paging)}"

    first = page * size
    return {
        key: list(items),
        "end": first + max(len(items) - 1, 0),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1) if (page + 1) * size < count else None,
        "page": page,
        "page_size": size,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
        "start": first,
        "uri": uri(page),
    }
