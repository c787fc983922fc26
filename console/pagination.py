"""Pagination by the last key seen, so deep pages cost what the first does: the pages' cursor
lists, and the Admin API's id and token paging."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from ninja import Field, Schema
from ninja.pagination import PaginationBase
from pydantic import model_validator

from console.schemas import SafeText

_SALT = "console.pagination"


@dataclass(frozen=True)
class CursorPage:
    items: list[Any]
    # The page after this one (older, in a newest-first list), and the one before it.
    next_cursor: str | None
    is_first: bool
    previous_cursor: str | None = None


_AFTER, _BEFORE = "a", "b"


def _to_json(value: Any) -> Any:
    return {"t": value.isoformat()} if isinstance(value, datetime) else value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        return datetime.fromisoformat(value["t"])
    return value


def _order_name(fields: list[tuple[str, bool]]) -> str:
    return ",".join(f"-{name}" if descending else name for name, descending in fields)


def _decode(cursor: str, fields: list[tuple[str, bool]]) -> tuple[str, list[Any]] | None:
    """The direction and values of `cursor`, if it was made for this order (a cursor of
    another order, or a forged one, is None: the first page)."""
    try:
        direction, values, order = signing.loads(cursor, salt=_SALT)
        if direction not in (_AFTER, _BEFORE) or order != _order_name(fields):
            return None
        if not isinstance(values, list) or len(values) != len(fields):
            return None
        return direction, [_from_json(value) for value in values]
    except (signing.BadSignature, TypeError, ValueError, KeyError):
        return None


def _encode(direction: str, item: Any, fields: list[tuple[str, bool]]) -> str:
    values = [_to_json(getattr(item, name)) for name, _ in fields]
    return signing.dumps([direction, values, _order_name(fields)], salt=_SALT)


def _beyond(fields: list[tuple[str, bool]], values: list[Any], *, forward: bool) -> Q:
    """The rows after `values` in the order `fields` (before them unless `forward`): the
    lexicographic comparison (a, b) > (x, y) written as a > x OR (a = x AND b > y)."""
    condition = Q()
    for position, (name, descending) in enumerate(fields):
        later = descending != forward  # "greater" comes later in an ascending order
        step = {fields[i][0]: values[i] for i in range(position)}
        step[f"{name}__{'gt' if later else 'lt'}"] = values[position]
        condition |= Q(**step)
    return condition


def cursor_page(
    queryset: QuerySet,
    *,
    cursor: str | None,
    key: str = "pk",
    descending: bool = True,
    size: int = 50,
    order: Sequence[str] | None = None,
) -> CursorPage:
    """One page of `queryset` after (or before) `cursor`, in the order `order` (field names,
    "-" for descending, the last one unique; by default the unique `key`).

    Cursors are signed so they are opaque and cannot be forged; a bad one reads as the first
    page. Pages follow each other by the values of the last row seen ("keyset" paging), so a
    deep page costs what the first does: one query, using an index on the order's fields.
    The fields must hold text, numbers, booleans or times, never NULL.
    """
    fields = [
        (name.removeprefix("-"), name.startswith("-"))
        for name in (order or [f"-{key}" if descending else key])
    ]
    ordering = [f"-{name}" if desc else name for name, desc in fields]
    decoded = _decode(cursor, fields) if cursor else None
    if decoded is None:
        items = list(queryset.order_by(*ordering)[: size + 1])
        more = len(items) > size
        items = items[:size]
        return CursorPage(
            items=items,
            next_cursor=_encode(_AFTER, items[-1], fields) if more else None,
            is_first=True,
        )
    direction, values = decoded
    if direction == _AFTER:
        items = list(
            queryset.filter(_beyond(fields, values, forward=True)).order_by(*ordering)[: size + 1]
        )
        more = len(items) > size
        items = items[:size]
        return CursorPage(
            items=items,
            next_cursor=_encode(_AFTER, items[-1], fields) if more else None,
            previous_cursor=_encode(_BEFORE, items[0], fields) if items else None,
            is_first=False,
        )
    reverse = [name[1:] if name.startswith("-") else f"-{name}" for name in ordering]
    items = list(
        queryset.filter(_beyond(fields, values, forward=False)).order_by(*reverse)[: size + 1]
    )
    newer = len(items) > size
    items = list(reversed(items[:size]))
    return CursorPage(
        items=items,
        next_cursor=_encode(_AFTER, items[-1], fields) if items else None,
        previous_cursor=_encode(_BEFORE, items[0], fields) if newer else None,
        is_first=not newer,
    )


# -- The Admin API's two paging schemes ------------------------------------------------------
#
# Lists of objects page by id, as Anthropic's do: `limit`, `before_id` / `after_id`, answered
# with `{data, has_more, first_id, last_id}`, in creation order (public ids are time-ordered,
# so new objects land at the end and pages already handed out never shift). Lists of
# configuration (rate limits, spend limits, increase requests) page with opaque `page`
# tokens, answered with `{data, has_more, next_page}`.

_TOKEN_SALT = "console.pagination.token"


def _attribute_path(item: Any, key: str) -> Any:
    for part in key.split("__"):
        item = getattr(item, part)
    return item


class IdPagination(PaginationBase):
    class Input(Schema):
        limit: int = Field(20, ge=1, le=1000, description="Items per page, 1 to 1000.")
        before_id: SafeText | None = Field(
            None, description="The page before this object's id (exclusive)."
        )
        after_id: SafeText | None = Field(
            None, description="The page after this object's id (exclusive)."
        )

        @model_validator(mode="after")
        def _one_direction(self) -> "IdPagination.Input":
            if self.before_id and self.after_id:
                raise ValueError("Give before_id or after_id, not both.")
            return self

    class Output(Schema):
        data: list[Any]
        has_more: bool
        first_id: str | None
        last_id: str | None

    items_attribute = "data"

    def __init__(self, *, key: str = "public_id", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = key

    def paginate_queryset(
        self, queryset: QuerySet, pagination: Input, request: Any, **params: Any
    ) -> dict[str, Any]:
        key, limit = self.key, pagination.limit
        if pagination.before_id:
            rows = list(
                queryset.filter(**{f"{key}__lt": pagination.before_id}).order_by(f"-{key}")[
                    : limit + 1
                ]
            )
            has_more = len(rows) > limit
            rows = list(reversed(rows[:limit]))
        else:
            if pagination.after_id:
                queryset = queryset.filter(**{f"{key}__gt": pagination.after_id})
            rows = list(queryset.order_by(key)[: limit + 1])
            has_more = len(rows) > limit
            rows = rows[:limit]
        return {
            "data": rows,
            "has_more": has_more,
            "first_id": _attribute_path(rows[0], key) if rows else None,
            "last_id": _attribute_path(rows[-1], key) if rows else None,
        }


def _bad_token() -> ValidationError:
    return ValidationError("page: this is not a page token of this list.", code="invalid_page")


def decode_page_token(token: str | None) -> Any:
    """What a page token carries, or None for the first page; `ValidationError` if forged."""
    if not token:
        return None
    try:
        return signing.loads(token, salt=_TOKEN_SALT)
    except signing.BadSignature:
        raise _bad_token() from None


def encode_page_token(value: Any) -> str:
    return signing.dumps(value, salt=_TOKEN_SALT)


@dataclass(frozen=True)
class PagedRows:
    """What a view gives `TokenPagination` when its answer's rows are not its items one for
    one: `items` are paged, and `rows` turns a page of them into the page's rows (several
    per item, or each with what is read once for the whole page)."""

    items: QuerySet | list
    rows: Callable[[list], list]


class TokenPagination(PaginationBase):
    """Pages by opaque tokens: a queryset by the unique `key` (`descending` for newest
    first), a list by position; a `PagedRows` pages its items and answers their rows."""

    class Input(Schema):
        limit: int = Field(20, ge=1, le=1000, description="Items per page, 1 to 1000.")
        page: SafeText | None = Field(
            None, description="The `next_page` token of the previous page."
        )

    class Output(Schema):
        data: list[Any]
        has_more: bool
        next_page: str | None

    items_attribute = "data"

    def __init__(self, *, key: str = "public_id", descending: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = key
        self.descending = descending

    def paginate_queryset(
        self, queryset: QuerySet | list | PagedRows, pagination: Input, request: Any, **params: Any
    ) -> dict[str, Any]:
        paged = queryset if isinstance(queryset, PagedRows) else PagedRows(queryset, list)
        items, next_page = token_page(
            paged.items,
            limit=pagination.limit,
            page=pagination.page,
            key=self.key,
            descending=self.descending,
        )
        return {
            "data": paged.rows(items) if items else [],
            "has_more": next_page is not None,
            "next_page": next_page,
        }


def token_page(
    items: QuerySet | list,
    *,
    limit: int,
    page: str | None,
    key: str = "public_id",
    descending: bool = False,
) -> tuple[list, str | None]:
    """One page of `items` and the token of the next (None on the last page)."""
    after = decode_page_token(page)
    if isinstance(items, QuerySet):
        if after is not None:
            if not isinstance(after, str):
                raise _bad_token()
            items = items.filter(**{f"{key}__lt" if descending else f"{key}__gt": after})
        rows = list(items.order_by(f"-{key}" if descending else key)[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, encode_page_token(_attribute_path(rows[-1], key)) if more else None
    start = after or 0
    if not isinstance(start, int) or start < 0:
        raise _bad_token()
    rows = items[start : start + limit]
    more = start + limit < len(items)
    return rows, encode_page_token(start + limit) if more else None
