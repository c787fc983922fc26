"""Types the Admin API's schemas are declared with.

Input types run the shared checks of `console.validation` (text, names, times), so a request
is refused with the same message and code as a form would show. Output types write what
Anthropic's API writes: times in UTC with a `Z` and microseconds (report buckets' bounds to the
second).
"""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import TextChoices
from ninja import Schema
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from console import validation


def from_django(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`check` as a pydantic validator: Django's `ValidationError` becomes pydantic's, its
    code kept, so the error envelope can name it in `details.error_code`."""

    def validate(value: Any) -> Any:
        try:
            return check(value)
        except ValidationError as error:
            code = getattr(error, "code", None) or "invalid"
            raise PydanticCustomError(
                "console_check",
                "{message}",
                {"message": " ".join(error.messages), "error_code": code},
            ) from None

    return validate


def rfc3339(moment: datetime) -> str:
    """A time in UTC as Anthropic writes an object's times: always with microseconds, also
    when they are zero (2026-11-29T10:00:00.123456Z, 2026-11-29T10:00:00.000000Z)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def rfc3339_seconds(moment: datetime) -> str:
    """A time in UTC to the second, as Anthropic writes the bounds of report buckets, which
    fall on whole minutes, hours or days (2026-11-29T00:00:00Z)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return validation.check_datetime(value)
    return validation.parse_datetime(value)


# One line of printable text (an id, a filter); no NUL, control characters or surrogates.
SafeText = Annotated[str, AfterValidator(from_django(validation.check_text))]
# A name: one line of printable text without bidirectional controls.
Name = Annotated[str, AfterValidator(from_django(validation.check_name))]
# An RFC 3339 time within the range every path accepts; without an offset, UTC.
InputTime = Annotated[datetime, BeforeValidator(from_django(_parse_time))]
# A time as Anthropic writes it.
Timestamp = Annotated[datetime, PlainSerializer(rfc3339, return_type=str)]
# The start or end of a report's bucket, as Anthropic writes it.
BucketTime = Annotated[datetime, PlainSerializer(rfc3339_seconds, return_type=str)]


def choices(values: type[TextChoices] | Iterable[str], *, exclude: Iterable[str] = ()) -> Any:
    """A `Literal` of the values of a model's choices (or of the values an engine defines),
    less `exclude`, so a schema's enum is written once, where the code defines it."""
    left_out = set(exclude)
    every = values.values if isinstance(values, type) else list(values)
    return Literal[tuple(str(value) for value in every if value not in left_out)]


class Body(Schema):
    """A request body: fields it does not declare are refused, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """An answer's shape, validated from the dicts the endpoints build: pydantic's own
    validation, without attribute lookups on model instances one by one."""


class ObjectOut(Out):
    """An answer built from one model instance, which `from_object` maps to a dict."""

    @model_validator(mode="before")
    @classmethod
    def _from_object(cls, value: Any) -> Any:
        if value is None or isinstance(value, (dict, BaseModel)):
            return value
        return cls.from_object(value)

    @classmethod
    def from_object(cls, obj: Any) -> dict[str, Any]:
        raise NotImplementedError
