"""An upper bound of a request's input tokens, known before it is forwarded.

Enforcement reserves a request's worst case, so the bound must not be below what the
upstream will report. It is taken from the request itself:

- **Text** (messages, system prompt, tool definitions and results, text documents) counts
  one token per byte of its JSON encoding. Tokenizers of Messages API servers produce at
  most one token per byte of UTF-8 text (byte-level BPE never merges less than a byte), and
  the JSON encoding of a text is at least as long as its UTF-8 (escapes only lengthen it);
  the JSON's own keys and punctuation more than pay for the role markers a server adds.
- **Images** count by their pixels, with the formula the Messages API documents, tokens =
  width x height / 750: the dimensions are read from the image's own header (the first
  bytes of its base64 data). The API scales every image down to about 1,600 tokens at
  most before it counts it, so no image counts more than `IMAGE_MAX_TOKENS` (that, with a
  margin); an image whose header cannot be read, or given by URL or file id, counts that.
- **PDFs** in base64 count page by page: each page is sent to the model as an image (at
  most `IMAGE_MAX_TOKENS`) and as its text, bounded by the bytes of the page's content
  streams, decompressed (every character drawn is at least one byte there), those of the
  forms it draws included. A PDF that cannot be read counts its size and one page.
- **Documents given by URL or file id** do not show their size in the request. Console
  asks the upstream's `count_tokens` for such a request, whatever the upstream's input
  bound says; when the upstream cannot count, each counts `UNSEEN_DOCUMENT_TOKENS`, the
  most pages a request may carry (100) at `IMAGE_MAX_TOKENS` plus `PAGE_TEXT_TOKENS`,
  an estimate rather than a bound.
- `REQUEST_TOKENS` more per request pay for what a server adds around the request (the
  system prompt of tool use is a few hundred tokens).

What this cannot bound, the settle still records as it is: a request that used more than
it reserved is recorded and counted in full, and the spend limits it passes refuse further
requests until they reset (docs/gateway.md, "Settle").
"""

import base64
import binascii
import io
import logging
import math
from dataclasses import dataclass
from typing import Any

import imagesize
import pypdf
from pypdf.generic import DictionaryObject, IndirectObject

logger = logging.getLogger(__name__)

PIXELS_PER_TOKEN = 750
IMAGE_MAX_TOKENS = 1_750  # the API's ~1,600 at most, with a margin for "about"
MAX_PDF_PAGES = 100
PAGE_TEXT_TOKENS = 3_000  # the Messages API's own figure for a dense page of text
UNSEEN_DOCUMENT_TOKENS = MAX_PDF_PAGES * (IMAGE_MAX_TOKENS + PAGE_TEXT_TOKENS)
REQUEST_TOKENS = 1_000
MAX_BOUND = 10_000_000  # what the engine accepts; nothing counts beyond it
# Enough of an image's base64 for its header (JPEG headers can carry thumbnails first).
HEADER_BASE64_CHARS = 4 * 16_384


@dataclass(frozen=True)
class Bound:
    tokens: int
    # Documents given by URL or file id: the upstream's count is needed to know them.
    unseen_documents: int = 0


def source_blocks(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Every block of the request's messages that carries a `source` (images, documents),
    wherever it is nested (tool results, documents made of content blocks)."""
    found = []
    messages = payload.get("messages")
    pending: list[Any] = [messages] if isinstance(messages, list) else []
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            if isinstance(item.get("source"), dict):
                found.append(item)
            pending.extend(value for value in item.values() if isinstance(value, list | dict))
    return found


def _is_pdf(block: dict[str, Any]) -> bool:
    source = block["source"]
    return (
        block.get("type") == "document"
        and source.get("type") == "base64"
        and source.get("media_type") == "application/pdf"
        and isinstance(source.get("data"), str)
    )


def unseen_documents(blocks: list[dict[str, Any]]) -> int:
    """How many documents (not images) are given by URL or file id."""
    return sum(
        1
        for block in blocks
        if block.get("type") != "image" and block["source"].get("type") in ("url", "file")
    )


def reads_pdfs(blocks: list[dict[str, Any]]) -> bool:
    """Whether bounding these blocks parses PDFs (work for a thread, not the event loop)."""
    return any(_is_pdf(block) for block in blocks)


def input_bound(
    body: bytes, payload: dict[str, Any], blocks: list[dict[str, Any]] | None = None
) -> Bound:
    """The bound for a Messages API request: `body` as received, `payload` parsed from it,
    `blocks` its `source_blocks` when already known."""
    counted = len(body) + REQUEST_TOKENS
    unseen = 0
    for block in source_blocks(payload) if blocks is None else blocks:
        source = block["source"]
        kind, data = source.get("type"), source.get("data")
        if block.get("type") == "image":
            if kind == "base64" and isinstance(data, str):
                # Counted by its pixels, not by the bytes of its data.
                counted += image_tokens(data) - len(data)
            else:
                counted += IMAGE_MAX_TOKENS
        elif _is_pdf(block):
            assert isinstance(data, str)
            counted += pdf_tokens(data) - len(data)
        elif kind in ("url", "file"):
            unseen += 1
            counted += UNSEEN_DOCUMENT_TOKENS
    return Bound(min(max(counted, 1), MAX_BOUND), unseen)


def input_tokens_bound(body: bytes, payload: dict[str, Any]) -> int:
    return input_bound(body, payload).tokens


def _decoded(data: str, limit: int | None = None) -> bytes:
    text = data if limit is None else data[: limit - limit % 4]
    try:
        return base64.b64decode(text)
    except (binascii.Error, ValueError):
        return b""


def image_tokens(data: str) -> int:
    """An image's tokens by the API's formula, from the dimensions in its header."""
    try:
        width, height = imagesize.get(io.BytesIO(_decoded(data, HEADER_BASE64_CHARS)))
    except Exception:  # a header the library cannot make sense of
        width = height = -1
    if width <= 0 or height <= 0:
        return IMAGE_MAX_TOKENS
    return min(math.ceil(width * height / PIXELS_PER_TOKEN), IMAGE_MAX_TOKENS)


def _drawn_bytes(resources: Any, seen: set[int]) -> int:
    """The decompressed bytes of the forms (Form XObjects) `resources` offers, and of the
    forms those offer; each form once."""
    total = 0
    resources = resources.get_object() if isinstance(resources, IndirectObject) else resources
    xobjects = resources.get("/XObject") if isinstance(resources, DictionaryObject) else None
    xobjects = xobjects.get_object() if xobjects is not None else None
    if not isinstance(xobjects, DictionaryObject):
        return 0
    for reference in xobjects.values():
        number = reference.idnum if isinstance(reference, IndirectObject) else id(reference)
        if number in seen:
            continue
        seen.add(number)
        form = reference.get_object()
        if form.get("/Subtype") != "/Form":
            continue
        total += len(form.get_data())
        if "/Resources" in form:
            total += _drawn_bytes(form["/Resources"], seen)
    return total


def pdf_tokens(data: str) -> int:
    """A PDF's bound: per page, an image and its text (see the module's description)."""
    decoded = _decoded(data)
    try:
        reader = pypdf.PdfReader(io.BytesIO(decoded))
        total = 0
        seen: set[int] = set()
        for page in reader.pages:
            contents = page.get_contents()
            text = len(contents.get_data()) if contents is not None else 0
            if "/Resources" in page:
                text += _drawn_bytes(page["/Resources"], seen)
            total += IMAGE_MAX_TOKENS + text
            if total >= MAX_BOUND:
                return MAX_BOUND
        return total
    except Exception:  # pypdf raises many kinds for a damaged file
        logger.info("A PDF could not be read; it is bounded by its size.", exc_info=True)
        return len(decoded) + IMAGE_MAX_TOKENS
