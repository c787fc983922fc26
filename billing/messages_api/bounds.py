"""An upper bound of a request's input tokens, known before it is forwarded.

Enforcement reserves a request's worst case, so the bound must never be below what the
upstream will report. It is taken from the request's size:

- Every text the request carries (messages, system prompt, tool definitions and results,
  text documents) is counted at one token per byte of its JSON encoding. Tokenizers of
  Messages API servers produce at most one token per byte of UTF-8 text (byte-level BPE
  never merges less than a byte), and the JSON encoding of a text is at least as long as
  its UTF-8 (escapes only lengthen it); the JSON's own keys and punctuation more than pay
  for the role markers the server adds.
- Base64 images are not counted by their size, which says little about their cost: a
  server scales an image down and charges it by its pixels (about 1,600 tokens for a Claude
  model at most), so each is counted at `IMAGE_TOKENS`.
- Images and documents given by URL are counted at `URL_SOURCE_TOKENS` each, and base64
  PDFs at their size: estimates, not bounds, since their cost depends on pages and pixels
  the request does not show.
- `REQUEST_TOKENS` more per request pay for what a server adds around the request (the
  system prompt of tool use is a few hundred tokens).

This costs no round trip and works with any server. An upstream configured with
`input_bound = count_tokens` is asked for the exact count instead (one more round trip per
request): worth it when requests carry PDFs or URLs, or when the size bound, which
overcounts plain text about four times, would spend the input-tokens-per-minute limit
faster than the upstream's real counts would.
"""

from typing import Any

IMAGE_TOKENS = 2_000
URL_SOURCE_TOKENS = 10_000
REQUEST_TOKENS = 1_000


def input_tokens_bound(body: bytes, payload: dict[str, Any]) -> int:
    """The bound for a Messages API request: `body` as received, `payload` parsed from it."""
    counted = len(body) + REQUEST_TOKENS
    for block in _content_blocks(payload):
        source = block.get("source")
        if not isinstance(source, dict):
            continue
        kind = source.get("type")
        if kind == "url":
            counted += URL_SOURCE_TOKENS
        elif kind == "base64" and block.get("type") == "image":
            data = source.get("data")
            counted += IMAGE_TOKENS - (len(data) if isinstance(data, str) else 0)
    return max(counted, 1)


def _content_blocks(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Every content block of the request, tool results' own blocks included."""
    pending: list[Any] = []
    messages = payload.get("messages")
    if isinstance(messages, list):
        pending.extend(m.get("content") for m in messages if isinstance(m, dict))
    blocks = []
    while pending:
        content = pending.pop()
        if not isinstance(content, list):
            continue
        for block in content:
            if isinstance(block, dict):
                blocks.append(block)
                pending.append(block.get("content"))
    return blocks
