"""Reading a Messages API answer's usage while it is passed on.

A stream reports usage twice: `message_start` carries the input side (uncached input, cache
writes for 5 minutes and for 1 hour, cache reads) with a first output count, and
`message_delta` carries running totals (output, and on newer servers the input side and
`server_tool_use` again). Totals replace what came before, field by field; nothing is added
up, so a count is never taken twice, and a field the delta leaves out keeps its value from
`message_start` (cache reads are not lost when a delta only reports output).

A stream the client leaves before its end has no final count of output. What was passed on
is counted instead: every text, thinking or tool-input delta carries at least one token, so
their number is a lower bound of the output tokens streamed; the usage settled is the
larger of that and the last count reported, never above `max_tokens`.
"""

import json
import re
from typing import Any

MAX_TOKENS_PER_KIND = 100_000_000
_EVENT_NAME = re.compile(rb"^event:[ \t]*([A-Za-z_]+)", re.MULTILINE)
# Deltas that carry no output token: empty text (a tool's input often starts with one),
# and signatures and citations, which are not generated text.
_EMPTY_DELTA = re.compile(
    rb'"(?:text|partial_json|thinking)"\s*:\s*""|"type"\s*:\s*"(?:signature_delta|citations_delta)"'
)


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return min(max(value, 0), MAX_TOKENS_PER_KIND)


def _merge_usage(into: dict[str, Any], reported: Any) -> None:
    """Replace `into`'s fields with the totals in `reported` (a Messages API usage object)."""
    if not isinstance(reported, dict):
        return
    for name, value in reported.items():
        if isinstance(value, dict):
            inner = into.setdefault(name, {})
            if isinstance(inner, dict):
                for key, count in value.items():
                    if (count := _count(count)) is not None:
                        inner[key] = count
        elif name in ("service_tier", "inference_geo", "speed") and isinstance(value, str):
            into[name] = value[:20]
        elif (count := _count(value)) is not None:
            into[name] = count


class UsageMeter:
    """The usage of one answer, as its events go by."""

    def __init__(self, *, client_model: str, upstream_model: str) -> None:
        self.usage: dict[str, Any] = {}
        self.streamed_output = 0
        self.finished = False
        self.error: dict[str, Any] | None = None
        self._model = client_model.encode()
        self._rename = client_model != upstream_model

    # -- A whole answer -------------------------------------------------------------------

    def read_message(self, body: bytes) -> bytes:
        """A non-streamed answer: its usage read, its model named as the client asked."""
        message = json.loads(body)
        if not isinstance(message, dict):
            raise ValueError("The answer is not a JSON object.")
        _merge_usage(self.usage, message.get("usage"))
        self.finished = True
        if self._rename and "model" in message:
            message["model"] = self._model.decode()
            return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        return body

    # -- A stream -------------------------------------------------------------------------

    def read_events(self, chunk: bytes) -> bytes:
        """Whole events (`chunk` ends where an event ends): usage read, passed on as they came
        but for `message_start`, whose model is renamed when the upstream names it otherwise."""
        text = chunk.replace(b"\r\n", b"\n") if b"\r" in chunk else chunk
        events = text.split(b"\n\n")
        renamed = False
        for index, event in enumerate(events):
            found = _EVENT_NAME.match(event)
            name = found.group(1) if found else b""
            if name == b"content_block_delta":
                if not _EMPTY_DELTA.search(event):
                    self.streamed_output += 1
            elif name == b"message_start":
                data = _data(event)
                message = data.get("message") if isinstance(data, dict) else None
                if isinstance(message, dict):
                    _merge_usage(self.usage, message.get("usage"))
                    if self._rename and "model" in message:
                        message["model"] = self._model.decode()
                        events[index] = (
                            b"event: message_start\ndata: "
                            + json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
                        )
                        renamed = True
            elif name == b"message_delta":
                data = _data(event)
                if isinstance(data, dict):
                    _merge_usage(self.usage, data.get("usage"))
            elif name == b"message_stop":
                self.finished = True
            elif name == b"error":
                data = _data(event)
                self.error = data if isinstance(data, dict) else {"type": "error"}
        return b"\n\n".join(events) if renamed else chunk

    def settled_usage(self, *, client_left: bool, max_tokens: int) -> dict[str, Any]:
        """What to settle: the totals reported; for a stream the client left, at least the
        output it was sent (see the module's description)."""
        usage = {**self.usage}
        if client_left and not self.finished:
            streamed = min(self.streamed_output, max_tokens)
            usage["output_tokens"] = max(usage.get("output_tokens", 0), streamed)
        return usage


def _data(event: bytes) -> Any:
    lines = [line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:")]
    try:
        return json.loads(b"\n".join(lines))
    except ValueError:
        return None


def split_complete(buffer: bytes) -> int:
    """Where the last whole event in `buffer` ends (0: none yet)."""
    ends = [at + len(mark) for mark in (b"\n\n", b"\r\n\r\n") if (at := buffer.rfind(mark)) >= 0]
    return max(ends, default=0)
