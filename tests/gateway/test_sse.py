"""The stream is read as the server-sent events specification reads it: any line ends,
fields in any order, comments, `id:` lines, data over several lines, events named only by
their JSON, and the bytes cut anywhere on their way."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.messages_api.metering import UsageMeter

START_USAGE = {
    "input_tokens": 410,
    "cache_creation_input_tokens": 30,
    "cache_read_input_tokens": 520,
    "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 20},
    "output_tokens": 1,
    "service_tier": "standard",
}
FINAL_USAGE = {
    "output_tokens": 77,
    "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 1},
    "inference_geo": "us",
}
EXPECTED = {
    **START_USAGE,
    "output_tokens": 77,
    "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 1},
    "inference_geo": "us",
}
TEXTS = ["Hel", "", "lo", " wor", "ld"]


def _payloads(model: str = "upstream-name") -> list[dict]:
    return [
        {
            "type": "message_start",
            "message": {"id": "msg_1", "model": model, "content": [], "usage": START_USAGE},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        *(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}
            for t in TEXTS
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": FINAL_USAGE,
        },
        {"type": "message_stop"},
    ]


EVENT_STYLES = st.fixed_dictionaries(
    {
        "named": st.sampled_from(["first", "after_data", "none"]),
        "id": st.sampled_from(["none", "before", "after"]),
        "comment": st.booleans(),
        "multiline": st.booleans(),
        "space": st.booleans(),
        "ends": st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=12, max_size=12),
    }
)


def _event_bytes(payload: dict, style: dict, number: int) -> bytes:
    text = json.dumps(payload, indent=1) if style["multiline"] else json.dumps(payload)
    sep = ": " if style["space"] else ":"
    data = [f"data{sep}{line}" for line in text.split("\n")]
    lines = list(data)
    name = f"event{sep}{payload['type']}"
    if style["named"] == "first":
        lines.insert(0, name)
    elif style["named"] == "after_data":
        lines.append(name)
    if style["id"] == "before":
        lines.insert(0, f"id: {number}")
    elif style["id"] == "after":
        lines.append(f"id: {number}")
    if style["comment"]:
        lines.insert(len(lines) // 2, ": a comment")
    ends = style["ends"]
    out = "".join(line + ends[i % len(ends)] for i, line in enumerate(lines))
    # The empty line that ends the event; after a CR, a lone LF would only complete a CRLF.
    last = ends[(len(lines) - 1) % len(ends)]
    blank = "\r\n" if last == "\r" and ends[-1] == "\n" else ends[-1]
    return (out + blank).encode()


def _stream(styles: list[dict], model: str = "upstream-name") -> bytes:
    payloads = _payloads(model)
    return b"".join(
        _event_bytes(payload, styles[i % len(styles)], i) for i, payload in enumerate(payloads)
    )


def _run(meter: UsageMeter, stream: bytes, cuts: list[int]) -> bytes:
    out = bytearray()
    last = 0
    for cut in [*sorted(set(cuts)), len(stream)]:
        out += meter.feed(stream[last:cut])
        last = cut
    out += meter.finish()
    return bytes(out)


def reference_events(stream: bytes) -> list[tuple[str, str]]:
    """A plain reading of the specification, character by character: (event type, data)."""
    text = stream.decode()
    lines, current, index = [], [], 0
    while index < len(text):
        char = text[index]
        if char in "\r\n":
            lines.append("".join(current))
            current = []
            index += 2 if text[index : index + 2] == "\r\n" else 1
        else:
            current.append(char)
            index += 1
    events, name, data = [], "", []
    for line in lines:
        if line == "":
            if data:
                events.append((name or "message", "\n".join(data)))
            name, data = "", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
    return events


def _check(meter: UsageMeter, out: bytes, stream: bytes, *, renamed: bool) -> None:
    assert meter.usage == EXPECTED
    assert meter.finished
    assert meter.streamed_output == len([t for t in TEXTS if t])
    if not renamed:
        assert out == stream
        return
    passed = [json.loads(data) for _name, data in reference_events(out)]
    assert passed == _payloads("client-name")


ALL_STYLES = [
    {
        "named": "first",
        "id": "none",
        "comment": False,
        "multiline": False,
        "space": True,
        "ends": ["\n"] * 12,
    },
    {
        "named": "none",
        "id": "before",
        "comment": True,
        "multiline": True,
        "space": False,
        "ends": ["\r\n", "\r", "\n"] * 4,
    },
    {
        "named": "after_data",
        "id": "after",
        "comment": True,
        "multiline": False,
        "space": True,
        "ends": ["\r"] * 12,
    },
    {
        "named": "first",
        "id": "before",
        "comment": False,
        "multiline": True,
        "space": True,
        "ends": ["\r\n"] * 12,
    },
]


def test_every_style_in_one_chunk():
    for styles in ([style] for style in ALL_STYLES):
        stream = _stream(styles)
        meter = UsageMeter(client_model="upstream-name", upstream_model="upstream-name")
        _check(meter, _run(meter, stream, []), stream, renamed=False)


def test_a_cut_at_every_position():
    stream = _stream(ALL_STYLES)
    for renamed in (False, True):
        for cut in range(len(stream) + 1):
            meter = UsageMeter(
                client_model="client-name" if renamed else "upstream-name",
                upstream_model="upstream-name",
            )
            _check(meter, _run(meter, stream, [cut]), stream, renamed=renamed)


def test_a_byte_at_a_time():
    stream = _stream(ALL_STYLES)
    meter = UsageMeter(client_model="client-name", upstream_model="upstream-name")
    out = _run(meter, stream, list(range(len(stream))))
    _check(meter, out, stream, renamed=True)


@settings(max_examples=150, deadline=None)
@given(
    styles=st.lists(EVENT_STYLES, min_size=1, max_size=10),
    cuts=st.lists(st.integers(min_value=0, max_value=20_000), max_size=12),
    renamed=st.booleans(),
    bom=st.booleans(),
)
def test_any_stream_cut_anywhere(styles, cuts, renamed, bom):
    stream = (b"\xef\xbb\xbf" if bom else b"") + _stream(styles)
    cuts = [cut % (len(stream) + 1) for cut in cuts]
    meter = UsageMeter(
        client_model="client-name" if renamed else "upstream-name", upstream_model="upstream-name"
    )
    out = _run(meter, stream, cuts)
    if bom:
        assert out.startswith(b"\xef\xbb\xbf")
        out, stream = out[3:], stream[3:]
    _check(meter, out, stream, renamed=renamed)


def test_data_only_events_are_billed():
    """The case that was billed $0: no `event:` lines, and events opened by an `id:`."""
    stream = b"".join(
        f"id: {i}\ndata: {json.dumps(payload)}\n\n".encode()
        for i, payload in enumerate(_payloads())
    )
    meter = UsageMeter(client_model="m", upstream_model="m")
    meter.feed(stream)
    assert meter.usage["input_tokens"] == 410
    assert meter.usage["output_tokens"] == 77
    assert meter.usage["cache_read_input_tokens"] == 520


def test_an_event_cut_off_by_the_end_of_the_stream_is_still_read():
    last = json.dumps(_payloads()[-2])
    meter = UsageMeter(client_model="m", upstream_model="m")
    assert meter.feed(b"event: message_delta\ndata: " + last.encode()) == b""
    rest = meter.finish()
    assert rest.endswith(b"\n\n")
    assert meter.usage["output_tokens"] == 77


def test_an_error_event_without_its_name_is_seen():
    meter = UsageMeter(client_model="m", upstream_model="m")
    meter.feed(b'data: {"type":"error","error":{"type":"overloaded_error","message":"x"}}\r\n\r\n')
    assert meter.error == {"type": "error", "error": {"type": "overloaded_error", "message": "x"}}
