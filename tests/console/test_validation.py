"""The shared checks of untrusted text, times and JSON."""

import json
from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from console import validation


@pytest.mark.parametrize(
    "text",
    ["a\x00b", "dev key\r\nBcc: x@evil.test", "tab\there", "\x1b[31m", "del\x7f", "\x85", "\ud800"],
)
def test_single_line_text_refuses_control_characters(text):
    with pytest.raises(ValidationError) as caught:
        validation.check_text(text)
    assert caught.value.code == "invalid_characters"


def test_multi_line_text_allows_line_breaks_and_tabs_only():
    assert validation.check_text("one\r\ntwo\tthree", multiline=True)
    with pytest.raises(ValidationError):
        validation.check_text("one\x00two", multiline=True)


@pytest.mark.parametrize("char", ["\u202a", "\u202e", "\u2066", "\u2069"])
def test_names_refuse_bidirectional_controls(char):
    with pytest.raises(ValidationError, match="bidirectional"):
        validation.check_name(f"invoice{char}fdp.exe")


@pytest.mark.parametrize("name", ["Production", "Équipe données", "数据", "👩‍💻 team", "a\u200bb"])
def test_names_accept_ordinary_unicode(name):
    assert validation.check_name(name) == name


def test_field_errors_carry_the_field_name():
    with pytest.raises(ValidationError) as caught:
        validation.check_name("a\nb", field="name")
    assert list(caught.value.error_dict) == ["name"]


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-30T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-01-01T25:00:00Z",
        "2026-01-01T00:00:00+16:00",
        "2026-01-01T00:00:00-14:30",
        "9999-12-31T23:59:59-01:00",
        "10000-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "2999-12-31T23:00:00-14:00",
        "yesterday",
        "2026-01-01T00:00:00\x00",
        "",
    ],
)
def test_times_outside_the_range_are_refused(value):
    with pytest.raises(ValidationError) as caught:
        validation.parse_datetime(value, field="starting_at")
    message = caught.value.message_dict["starting_at"][0]
    assert "2000" in message and "2999" in message


def test_times_within_the_range_are_read_as_utc_when_naive():
    assert validation.parse_datetime("2026-11-01T00:00:00Z") == datetime(2026, 11, 1, tzinfo=UTC)
    assert validation.parse_datetime("2026-11-01T10:00") == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert (
        validation.parse_datetime("2026-11-01T00:00:00+14:00").utcoffset().total_seconds()
        == 14 * 3600
    )


def test_a_naive_time_can_be_required_to_carry_its_offset():
    with pytest.raises(ValidationError, match="offset"):
        validation.parse_datetime("2026-11-01T10:00", default_utc=False)


@pytest.mark.parametrize(
    "value", ["2026-02-30", "2026-13-01", "9999-01-01", "1970-01-01", "0", "x" * 40]
)
def test_dates_outside_the_range_are_refused(value):
    with pytest.raises(ValidationError):
        validation.parse_date(value)


def test_dates_and_hours_within_the_range():
    assert validation.parse_date("2026-11-01") == date(2026, 11, 1)
    assert validation.parse_hour("2026-11-01T13:00").hour == 13
    with pytest.raises(ValidationError):
        validation.parse_hour("2026-11-01T13:30")


def test_deep_json_is_refused_without_recursing():
    for depth in (validation.MAX_JSON_DEPTH + 1, 100_000):
        with pytest.raises(validation.JSONRefused) as caught:
            validation.loads_json("[" * depth + "]" * depth)
        assert caught.value.code == "json_too_deep"
    nested = "[" * validation.MAX_JSON_DEPTH + "]" * validation.MAX_JSON_DEPTH
    assert validation.loads_json(nested) is not None


@pytest.mark.parametrize(
    "document", ['{"name": "a\\u0000b"}', '{"n": ["\\ud800"]}', '{"\\u0000": 1}']
)
def test_json_strings_with_nul_or_lone_surrogates_are_refused(document):
    with pytest.raises(validation.JSONRefused) as caught:
        validation.loads_json(document)
    assert caught.value.code == "invalid_characters"
    assert validation.loads_json(document, check_strings=False) is not None


def test_malformed_json_is_refused():
    with pytest.raises(validation.JSONRefused) as caught:
        validation.loads_json(b"{not json")
    assert caught.value.code == "invalid_json"


@given(
    st.recursive(
        st.none() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=30,
    )
)
@settings(deadline=None)  # timed on a busy machine, an example can pass the default 200 ms
def test_any_json_either_loads_as_itself_or_is_refused_cleanly(data):
    document = json.dumps(data)
    try:
        assert validation.loads_json(document) == data
    except validation.JSONRefused as refusal:
        assert refusal.code in {"json_too_deep", "invalid_characters"}
