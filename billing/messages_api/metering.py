"""Reading a Messages API answer's usage while it is passed on.

A stream reports usage twice: `message_start` carries the input side (uncached input, cache
writes for 5 minutes and for 1 hour, cache reads) with a first output count, and
`message_delta` carries running totals (output, and on newer servers the input side and
`server_tool_use` again). Totals replace what came before, field by field; nothing is added
up, so a count is never taken twice, and a field the delta leaves out keeps its value from
`message_start` (cache reads are not lost when a delta only reports output). Everything else
the upstream says about the request's usage (`service_tier`, `inference_geo`, `speed`, the
`server_tool_use` counts) is kept as reported and handed to the settle.

The stream is read as the server-sent events specification reads it, whatever the server's
habits: lines end in `\\r\\n`, `\\r` or `\\n`; an event ends at an empty line; its fields
come in any order, `id:`, `retry:` and comment lines (`:`) among them; its data may span
several `data:` lines (joined by line feeds). An event without an `event:` line is named by
its JSON's `type`, as the Messages API names every event. Events are passed on whole, as
soon as the empty line that ends each has arrived, byte for byte as the upstream sent them
(but for `message_start`, whose model is renamed when the upstream names it otherwise).

A stream the client leaves before its end has no final count of output. What was passed on
is counted instead: every text, thinking or tool-input delta carries at least one token, so
their number is a lower bound of the output tokens streamed; the usage settled is the
larger of that and the last count reported, never above `max_tokens`.
"""

import json
import re
from typing import Any

MAX_TOKENS_PER_KIND = 100_000_000
MAX_TEXT = 200  # a reported string longer than this is cut (the settle checks it anyway)
_LINE_END = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"
# Deltas that carry no output token: empty text (a tool's input often starts with one),
# and signatures and citations, which are not generated text.
_EMPTY_DELTA = re.compile(
    rb'"(?:text|partial_json|thinking)"\s*:\s*""|"type"\s*:\s*"(?:signature_delta|citations_delta)"'
)
_UNCOUNTED_DELTAS = {"signature_delta", "citations_delta"}
_COUNTED_TEXT = ("text", "partial_json", "thinking")
_COUNT_SUFFIXES = ("_tokens", "_requests")  # fields that are counts: a string there is ignored


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return min(max(value, 0), MAX_TOKENS_PER_KIND)


def _merge_usage(into: dict[str, Any], reported: Any) -> None:
    """Replace `into`'s fields with the totals in `reported` (a Messages API usage object):
    counts (negative ones as 0, huge ones capped), objects of counts (`cache_creation`,
    `server_tool_use`) field by field, and strings (`service_tier`, `inference_geo`,
    `speed`) as they are. A field reported as null, or a count reported as anything but a
    whole number, keeps its value."""
    if not isinstance(reported, dict):
        return
    for name, value in reported.items():
        if not isinstance(name, str):
            continue
        if isinstance(value, dict):
            inner = into.setdefault(name, {})
            if isinstance(inner, dict):
                for key, count in value.items():
                    if isinstance(key, str) and (count := _count(count)) is not None:
                        inner[key] = count
        elif isinstance(value, str):
            if not name.endswith(_COUNT_SUFFIXES):
                into[name] = value[:MAX_TEXT]
        elif (count := _count(value)) is not None:
            into[name] = count


class _Event:
    """One server-sent event: its name (the `event:` field, else its JSON's `type`), its
    data (the `data:` lines joined), and its lines as they came."""

    __slots__ = ("_json", "data", "lines", "name", "named")

    def __init__(self, block: bytes) -> None:
        self.lines = block.split(b"\n")
        self.name = b""
        self.named = False
        data: list[bytes] = []
        for line in self.lines:
            if not line or line[0] == 58:  # empty (a leading line end), or a ":" comment
                continue
            field, colon, value = line.partition(b":")
            if colon and value[:1] == b" ":
                value = value[1:]
            if field == b"data":
                data.append(value)
            elif field == b"event":
                self.name = value
                self.named = True
        self.data = b"\n".join(data) if data else None
        self._json: Any = _UNREAD
        if not self.named and self.data is not None:
            parsed = self.json()
            kind = parsed.get("type") if isinstance(parsed, dict) else None
            self.name = kind.encode() if isinstance(kind, str) else b"message"

    def json(self) -> Any:
        if self._json is _UNREAD:
            try:
                self._json = json.loads(self.data) if self.data is not None else None
            except ValueError:
                self._json = None
        return self._json

    def with_data(self, data: Any) -> bytes:
        """The event again, its data replaced by `data` (one `data:` line where the first
        was), its other lines kept."""
        encoded = b"data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        lines, placed = [], False
        for line in self.lines:
            if line.startswith(b"data"):
                field = line.partition(b":")[0]
                if field == b"data":
                    if not placed:
                        lines.append(encoded)
                        placed = True
                    continue
            lines.append(line)
        return b"\n".join(lines)


_UNREAD = object()


def _event_ends(text: bytes) -> int:
    """Where the last complete event in `text` ends (0: none yet), for any line ends."""
    if b"\r" not in text:
        end = text.rfind(b"\n\n")
        if end >= 0:
            return end + 2
        return 1 if text[:1] == b"\n" else 0  # a lone empty line
    end = line_start = 0
    for found in _LINE_END.finditer(text):
        if found.start() == line_start:
            end = found.end()
        line_start = found.end()
    return end


def _blocks(text: bytes) -> list[bytes]:
    """The events of `text` (complete ones, line ends as line feeds), split at empty lines."""
    if b"\r" in text:
        text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return [block for block in text.split(b"\n\n") if block.strip(b"\n")]


class UsageMeter:
    """The usage of one answer, as its events go by."""

    def __init__(self, *, client_model: str, upstream_model: str) -> None:
        self.usage: dict[str, Any] = {}
        self.streamed_output = 0
        self.finished = False
        self.error: dict[str, Any] | None = None
        self._model = client_model
        self._rename = client_model != upstream_model
        self._pending = b""
        self._first = True

    # -- A whole answer -------------------------------------------------------------------

    def read_message(self, body: bytes) -> bytes:
        """A non-streamed answer: its usage read, its model named as the client asked."""
        message = json.loads(body)
        if not isinstance(message, dict):
            raise ValueError("The answer is not a JSON object.")
        _merge_usage(self.usage, message.get("usage"))
        self.finished = True
        if self._rename and "model" in message:
            message["model"] = self._model
            return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        return body

    # -- A stream -------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> bytes:
        """Take the next bytes of the stream, cut anywhere; answer what to pass on now: the
        events completed so far, whole."""
        text = self._pending + chunk if self._pending else chunk
        if self._first and text:
            # A byte order mark may open the stream: passed on, not read as a field.
            if len(text) < len(_BOM) and _BOM.startswith(text):
                self._pending = text
                return b""
            self._first = False
            if text.startswith(_BOM):
                self._pending = b""
                return _BOM + self.feed(text[len(_BOM) :])
        end = _event_ends(text)
        if end == 0:
            self._pending = text
            return b""
        self._pending = text[end:]
        return self._read(text[:end])

    def finish(self) -> bytes:
        """The stream ended: what is left of it, an event without its final empty line
        read and passed on as if it had one."""
        rest, self._pending = self._pending, b""
        if not rest.strip(b"\r\n"):
            return rest
        return self._read(rest.rstrip(b"\r\n") + b"\n\n")

    def _read(self, text: bytes) -> bytes:
        """Complete events (`text` ends where an event ends): usage read, passed on as they
        came but for a renamed `message_start`."""
        renamed: list[bytes] | None = None
        blocks = _blocks(text)
        for index, block in enumerate(blocks):
            event = _Event(block)
            name = event.name
            if name == b"content_block_delta":
                self._count_delta(event, block)
            elif name == b"message_start":
                data = event.json()
                message = data.get("message") if isinstance(data, dict) else None
                if isinstance(message, dict):
                    _merge_usage(self.usage, message.get("usage"))
                    if self._rename and "model" in message:
                        message["model"] = self._model
                        renamed = renamed if renamed is not None else list(blocks)
                        renamed[index] = event.with_data(data)
            elif name == b"message_delta":
                data = event.json()
                if isinstance(data, dict):
                    _merge_usage(self.usage, data.get("usage"))
            elif name == b"message_stop":
                self.finished = True
            elif name == b"error":
                data = event.json()
                self.error = data if isinstance(data, dict) else {"type": "error"}
        if renamed is None:
            return text
        return b"\n\n".join(renamed) + b"\n\n"

    def _count_delta(self, event: _Event, block: bytes) -> None:
        if event.named:
            # The raw bytes say enough, without decoding the JSON of every delta.
            if not _EMPTY_DELTA.search(block):
                self.streamed_output += 1
            return
        data = event.json()
        delta = data.get("delta") if isinstance(data, dict) else None
        if not isinstance(delta, dict) or delta.get("type") in _UNCOUNTED_DELTAS:
            return
        if any(delta.get(field) == "" for field in _COUNTED_TEXT):
            return
        self.streamed_output += 1

    def settled_usage(self, *, client_left: bool, max_tokens: int) -> dict[str, Any]:
        """What to settle: the totals reported; for a stream the client left, at least the
        output it was sent (see the module's description)."""
        usage = {**self.usage}
        if client_left and not self.finished:
            streamed = min(self.streamed_output, max_tokens)
            usage["output_tokens"] = max(usage.get("output_tokens", 0), streamed)
        return usage
