"""Untrusted input, checked once for every path: forms, the Admin API, the gateway, commands.

Three kinds of input break things far from where they arrive, so each is refused at the edge
with a message that says what is accepted:

- **Text** with NUL (PostgreSQL cannot store it), lone surrogates (they cannot be encoded), or
  other control characters (CR/LF in a name ends up in an e-mail header). Names also refuse the
  Unicode bidirectional overrides that make a name read differently from what it is.
- **Times** outside one accepted range: years 2000 to 2999, UTC offsets within ±14:00. Anything
  else is a typo or an attack, and a year-10000 expiry would break every later read.
- **JSON** nested deeper than a bound (the parser would recurse until it fails), or carrying
  strings that text checks would refuse anyway.

Every refusal is a `ValidationError` with a `code`, so forms show it under the field and the
APIs put the code in the error's details.
"""

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError

MIN_YEAR = 2000
MAX_YEAR = 2999
MAX_UTC_OFFSET = timedelta(hours=14)
MAX_JSON_DEPTH = 64

DATETIME_RANGE = f"years {MIN_YEAR} to {MAX_YEAR}, with a UTC offset within ±14:00"

# C0 and C1 control characters and DEL; tab, LF and CR are allowed only in multi-line text.
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_SURROGATES = "\ud800-\udfff"
_SINGLE_LINE_UNSAFE = re.compile(f"[{_CONTROL}\t\n\r{_SURROGATES}]")
_MULTI_LINE_UNSAFE = re.compile(f"[{_CONTROL}{_SURROGATES}]")
# Embedding and override controls (U+202A-U+202E) and isolates (U+2066-U+2069).
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# What no stored or forwarded string may hold, whatever it is for.
_NEVER_IN_STRINGS = re.compile(f"[\x00{_SURROGATES}]")


def _describe(char: str) -> str:
    if char == "\x00":
        return "a NUL character"
    if char in "\r\n":
        return "a line break"
    if char == "\t":
        return "a tab"
    if "\ud800" <= char <= "\udfff":
        return "an unpaired surrogate"
    return f"the control character U+{ord(char):04X}"


def check_text(value: str, *, multiline: bool = False, field: str | None = None) -> str:
    """`value` if it holds only printable text (line breaks and tabs only when `multiline`)."""
    unsafe = (_MULTI_LINE_UNSAFE if multiline else _SINGLE_LINE_UNSAFE).search(value)
    if unsafe is not None:
        raise _error(
            field,
            f"This text contains {_describe(unsafe.group())}, which is not allowed.",
            "invalid_characters",
        )
    return value


def check_name(value: str, *, field: str | None = None) -> str:
    """`value` if it is fit for a name: one line of printable text, no bidirectional controls."""
    check_text(value, field=field)
    if _BIDI_CONTROLS.search(value):
        raise _error(
            field,
            "Names cannot contain Unicode bidirectional control characters (U+202A to U+202E, U+2066 to U+2069).",
            "invalid_characters",
        )
    return value


def clean_name(
    value: object,
    *,
    max_length: int,
    field: str = "name",
    empty_message: str = "Enter a name.",
    label: str = "Names",
) -> str:
    """A name as typed, trimmed: present, at most `max_length` characters, fit for a name."""
    if value is not None and not isinstance(value, str):
        raise _error(field, "Give the name as text.", "invalid")
    name = (value or "").strip()
    if not name:
        raise _error(field, empty_message, "required")
    if len(name) > max_length:
        raise _error(
            field,
            f"{label} can be at most {max_length} characters (this one has {len(name)}).",
            "max_length",
        )
    return check_name(name, field=field)


def is_safe_text(value: str) -> bool:
    """Whether `value` holds no control character at all (for identifiers in URLs)."""
    return _SINGLE_LINE_UNSAFE.search(value) is None


# -- Times ----------------------------------------------------------------------------------


def check_datetime(moment: datetime, *, field: str | None = None) -> datetime:
    """`moment` if it lies within the accepted range (a naive time is taken as UTC)."""
    offset = moment.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise _error(
            field, f"Use a UTC offset within ±14:00 ({DATETIME_RANGE}).", "invalid_datetime"
        )
    in_utc = moment.replace(tzinfo=UTC) if offset is None else moment
    try:
        in_utc = in_utc.astimezone(UTC)
    except OverflowError:
        in_utc = moment
    if not (MIN_YEAR <= moment.year <= MAX_YEAR and MIN_YEAR <= in_utc.year <= MAX_YEAR):
        raise _error(field, f"Use a time within {DATETIME_RANGE}.", "invalid_datetime")
    return moment


def check_date(day: date, *, field: str | None = None) -> date:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise _error(field, f"Use a date within years {MIN_YEAR} to {MAX_YEAR}.", "invalid_date")
    return day


def parse_datetime(value: str, *, field: str | None = None, default_utc: bool = True) -> datetime:
    """An RFC 3339 time such as ``2026-11-01T00:00:00Z`` within the accepted range.

    Without an offset the time is taken as UTC when `default_utc`, else refused.
    """
    if not isinstance(value, str) or not is_safe_text(value) or len(value) > 40:
        raise _error(field, _datetime_example(), "invalid_datetime")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _error(field, _datetime_example(), "invalid_datetime") from None
    check_datetime(moment, field=field)
    if moment.tzinfo is None:
        if not default_utc:
            raise _error(
                field,
                f"Give the time with its UTC offset. {_datetime_example()}",
                "invalid_datetime",
            )
        moment = moment.replace(tzinfo=UTC)
    return moment


def parse_date(value: str, *, field: str | None = None) -> date:
    """A calendar date such as ``2026-11-01`` within the accepted range."""
    if not isinstance(value, str) or not is_safe_text(value) or len(value) > 10:
        raise _error(field, _date_example(), "invalid_date")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _error(field, _date_example(), "invalid_date") from None
    return check_date(day, field=field)


def parse_hour(value: str, *, field: str | None = None) -> datetime:
    """A UTC hour such as ``2026-11-01T13:00`` (minutes and seconds must be zero)."""
    moment = parse_datetime(value, field=field)
    if moment.time().replace(hour=0) != time(0):
        raise _error(field, "Give a whole hour, such as 2026-11-01T13:00.", "invalid_datetime")
    return moment


def _datetime_example() -> str:
    return f"Expected an RFC 3339 time such as 2026-11-01T00:00:00Z, within {DATETIME_RANGE}."


def _date_example() -> str:
    return f"Expected a date such as 2026-11-01, within years {MIN_YEAR} to {MAX_YEAR}."


# -- JSON -----------------------------------------------------------------------------------


class JSONRefused(ValueError):
    """A JSON document that is malformed, too deep or carries unsafe strings."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def loads_json(
    document: bytes | str, *, max_depth: int = MAX_JSON_DEPTH, check_strings: bool = True
) -> Any:
    """Parse `document`, refusing nesting deeper than `max_depth` and, when `check_strings`,
    any key or string holding NUL or an unpaired surrogate."""
    try:
        data = json.loads(document)
    except RecursionError:
        raise JSONRefused(
            f"The JSON is nested too deeply (at most {max_depth} levels).", "json_too_deep"
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise JSONRefused("The request body is not valid JSON.", "invalid_json") from None
    _check_document(data, max_depth=max_depth, check_strings=check_strings)
    return data


def _check_document(data: Any, *, max_depth: int, check_strings: bool) -> None:
    # Iterative, so a deep document cannot exhaust the stack here either.
    pending: list[tuple[Any, int]] = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if check_strings and _NEVER_IN_STRINGS.search(value):
                raise JSONRefused(
                    "Strings cannot contain NUL characters or unpaired surrogates.",
                    "invalid_characters",
                )
            continue
        if isinstance(value, dict):
            children: Any = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth >= max_depth:
            raise JSONRefused(
                f"The JSON is nested too deeply (at most {max_depth} levels).", "json_too_deep"
            )
        pending.extend((child, depth + 1) for child in children)


def _error(field: str | None, message: str, code: str) -> ValidationError:
    error = ValidationError(message, code=code)
    return ValidationError({field: error}) if field else error
