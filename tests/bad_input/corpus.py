"""The bad values every field, parameter and path segment is tried with.

Values come in classes (NUL, lone surrogates, control characters, line breaks, bidirectional
overrides, zero-width characters, 10,000-character strings, wrong types, negative and huge
numbers, impossible and extreme dates, deep JSON, ...). Sending every value to every field
would take minutes, so each field gets every class once, the class's sample chosen by the
field's position: over many fields every sample is sent, and no field misses a class.
"""

import copy
import re
from collections.abc import Iterator
from typing import Any

BIDI_CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]

# Class name -> samples. Text classes are sent as they are to forms and query strings; JSON
# bodies get them as strings, plus the JSON-only classes below.
TEXT_CLASSES: dict[str, list[str]] = {
    "nul": ["a\x00b", "\x00", "name\x00"],
    "lone_surrogate": ["\ud800", "a\udfffb", "\udbff"],
    "control": ["\x07", "\x1b[31mred", "\x7f", "\x85"],
    "line_break": ["line\r\nBcc: x@evil.test", "a\nb", "a\rb", "\u2028"],
    "bidi_override": [f"abc{char}gpj.exe" for char in BIDI_CONTROLS],
    "zero_width": [f"ad{char}min" for char in ZERO_WIDTH],
    "long": ["x" * 10_000, "é" * 10_000, "a " * 5_000],
    "empty": ["", " ", "\t"],
    "negative": ["-1", "-99999999999999999999", "-0.01"],
    "huge": ["99999999999999999999999", "1e308", "9" * 400, "18446744073709551616"],
    "not_a_number": ["NaN", "Infinity", "1,000", "²", "١٢٣"],
    "impossible_date": [
        "2026-02-30",
        "2026-13-01T00:00:00Z",
        "2026-11-01T25:00:00Z",
        "2026-11-01T00:00:00+16:00",
    ],
    "extreme_date": [
        "9999-12-31T23:59:59-01:00",
        "10000-01-01T00:00:00Z",
        "0001-01-01",
        "1999-12-31T23:59:59Z",
        "9999-12-31",
    ],
    # What pages and CSV files must show as text: markup, spreadsheet formulas, paths, emoji.
    "odd_text": [
        "<script>alert(1)</script>",
        '=HYPERLINK("http://evil.test","x")',
        "../../etc/passwd",
        "💩",
        '"><img src=x onerror=alert(1)>',
        "+1+1",
        "%00",
        "👩‍👩‍👧‍👦",
        "{{ 7*7 }}",
        "@SUM(A1)",
        "\U0010ffff",
    ],
}


def deep_json(depth: int = 100) -> Any:
    """A list nested `depth` levels, deeper than any body may nest."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


# Only in JSON bodies: values of the wrong type, numbers out of range, and deep nesting.
JSON_CLASSES: dict[str, list[Any]] = {
    "wrong_type_number": [123, 0, 1.5],
    "wrong_type_bool": [True, False],
    "wrong_type_null": [None],
    "wrong_type_list": [[], ["a"], [1, 2]],
    "wrong_type_object": [{}, {"a": "b"}],
    "negative_number": [-1, -(10**30), -0.5],
    "huge_number": [10**30, 2**63, 2**64, 1e308],
    "deep": [deep_json()],
}


def samples_for(position: int, *, json: bool = False) -> Iterator[tuple[str, Any]]:
    """One sample of every class, for the field at `position` (so neighbouring fields get
    different samples of each class)."""
    classes: dict[str, list[Any]] = dict(TEXT_CLASSES)
    if json:
        classes.update(JSON_CLASSES)
    for name, values in classes.items():
        yield name, values[position % len(values)]


# Path segments: what a URL's id may be instead of a real id. Percent-encoded, as sent.
BAD_PATH_SEGMENTS = [
    "%C2%B2",  # "²": isdigit() is true, int() fails
    "99999999999999999999",
    "x" * 300,
    "%E2%80%AEevil%E2%80%8B",  # a right-to-left override and a zero-width space
    "%00",
    "..%2F..%2Fetc",
    "%ED%A0%80",  # a lone surrogate, encoded as UTF-8 would not allow
    "-1",
]


_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?P<time>T\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?$"
)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def is_date_like(value: str) -> bool:
    return bool(_DATE.match(value))


def variants(valid: Any) -> list[tuple[str, str]]:
    """Bad values in the shape of a field's valid value, which generic samples miss: for a
    date or time, every impossible and extreme one written as that field writes it (so a
    field that takes `2026-11-01T13` gets `9999-12-31T23`); for a number, the numbers just
    outside any range and the digits `int()` refuses."""
    if not isinstance(valid, str):
        return []
    found = _DATE.match(valid)
    if found:
        time, zone = found.group("time") or "", found.group("zone") or ""

        def written(date: str, *, hour: str = "23", offset: str | None = None) -> str:
            clock = f"T{hour}{time[3:]}" if time else ""
            return date + clock + (zone if offset is None else offset)

        dates = [
            ("latest_date", written("9999-12-31")),
            ("earliest_date", written("0001-01-01", hour="00")),
            ("before_2000", written("1999-12-31")),
            ("after_2999", written("3000-01-01", hour="00")),
            ("year_10000", written("10000-01-01", hour="00")),
            ("february_30", written("2026-02-30")),
            ("month_13", written("2026-13-01")),
            ("year_zero", written("0000-01-01")),
        ]
        if time:
            dates += [
                ("hour_25", written("2026-11-01", hour="25")),
                ("offset_16", written("2026-11-01", offset="+16:00")),
                ("far_offset_edge", written("9999-12-31", offset="-01:00")),
                ("early_offset_edge", written("0001-01-01", hour="00", offset="+01:00")),
            ]
        return dates
    if _NUMBER.match(valid):
        return [
            ("zero", "0"),
            ("negative", "-" + valid.lstrip("-")),
            ("past_64_bits", "18446744073709551616"),
            ("huge", "9" * 30),
            ("float_max", "1e308"),
            ("fraction", valid + ".5"),
            ("superscript", "²"),
            ("arabic_indic", "١٢"),
            ("spaced", f" {valid} "),
            ("hex", "0x10"),
        ]
    return []


# -- JSON bodies ------------------------------------------------------------------------------


def field_paths(body: Any, prefix: tuple = ()) -> list[tuple]:
    """Every field of a JSON body, nested ones included (a list's first item stands for all)."""
    paths: list[tuple] = []
    if isinstance(body, dict):
        for name, value in body.items():
            paths.append((*prefix, name))
            paths += field_paths(value, (*prefix, name))
    elif isinstance(body, list) and body:
        paths += field_paths(body[0], (*prefix, 0))
    return paths


def value_at(body: Any, path: tuple) -> Any:
    for step in path:
        try:
            body = body[step]
        except (KeyError, IndexError, TypeError):
            return None
    return body


def with_value(body: Any, path: tuple, value: Any) -> Any:
    """A copy of `body` with the field at `path` set to `value` (objects made as needed)."""
    body = copy.deepcopy(body)
    here = body
    for step in path[:-1]:
        if isinstance(here, dict) and not isinstance(here.get(step), (dict, list)):
            here[step] = {}
        here = here[step]
    here[path[-1]] = value
    return body


def without(body: Any, path: tuple) -> Any:
    """A copy of `body` without the field at `path`."""
    body = copy.deepcopy(body)
    parent = value_at(body, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)
    return body
