"""Cursor pagination: pages by the last key seen, so deep pages cost what the first does."""

from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import QuerySet

_SALT = "console.pagination"


@dataclass(frozen=True)
class CursorPage:
    items: list[Any]
    next_cursor: str | None
    is_first: bool


def _decode(cursor: str) -> Any:
    try:
        return signing.loads(cursor, salt=_SALT)
    except signing.BadSignature:
        return None


def cursor_page(
    queryset: QuerySet,
    *,
    cursor: str | None,
    key: str = "pk",
    descending: bool = True,
    size: int = 50,
) -> CursorPage:
    """One page of `queryset` ordered by the unique field `key`, after `cursor`.

    Cursors are signed so they are opaque and cannot be forged; a bad one reads as the first
    page. One query per page, at any depth, using the index on `key`.
    """
    after = _decode(cursor) if cursor else None
    if after is not None:
        queryset = queryset.filter(**{f"{key}__lt" if descending else f"{key}__gt": after})
    ordered = queryset.order_by(f"-{key}" if descending else key)
    items = list(ordered[: size + 1])
    has_more = len(items) > size
    items = items[:size]
    next_cursor = signing.dumps(getattr(items[-1], key), salt=_SALT) if has_more and items else None
    return CursorPage(items=items, next_cursor=next_cursor, is_first=after is None)
