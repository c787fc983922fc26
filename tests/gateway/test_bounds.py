"""The input bound is an upper bound of what the upstream will count: images by their
pixels, PDFs page by page with their text (however compressed), and documents whose size
the request does not show counted by the upstream."""

import base64
import io
import json
import struct
import zlib

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from billing import upstreams
from billing.messages_api import bounds, lookups
from billing.models import InputBound


def png(width: int, height: int) -> str:
    """The base64 of a PNG's signature and header (all a bound reads)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    data = (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )
    return base64.b64encode(data + b"\x00" * 4000).decode()


def pdf(pages: int, text_bytes: int, form_bytes: int = 0) -> str:
    writer = PdfWriter()
    for _ in range(pages):
        page = writer.add_blank_page(612, 792)
        content = DecodedStreamObject()
        content.set_data(b"BT /F1 12 Tf 72 720 Td (" + b"a" * text_bytes + b") Tj ET")
        page.replace_contents(content)
        page.compress_content_streams()  # compresses to almost nothing
    if form_bytes:
        form = DecodedStreamObject()
        form.set_data(b"BT (" + b"b" * form_bytes + b") Tj ET")
        form.update(
            {
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Form"),
            }
        )
        reference = writer._add_object(form)
        writer.pages[0][NameObject("/Resources")] = DictionaryObject(
            {NameObject("/XObject"): DictionaryObject({NameObject("/Fm0"): reference})}
        )
    out = io.BytesIO()
    writer.write(out)
    return base64.b64encode(out.getvalue()).decode()


def request(*blocks: dict) -> tuple[bytes, dict]:
    payload = {
        "model": "m",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": [*blocks, {"type": "text", "text": "What?"}]}],
    }
    return json.dumps(payload).encode(), payload


def image(data: str) -> dict:
    return {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}


def without(body: bytes, *data: str) -> int:
    """The request's size bound without its base64 data."""
    return len(body) - sum(len(d) for d in data) + bounds.REQUEST_TOKENS


def test_an_image_counts_by_its_pixels():
    small = png(300, 200)
    body, payload = request(image(small))
    assert bounds.input_bound(body, payload).tokens == without(body, small) + 80  # 60,000 / 750


@pytest.mark.parametrize("data", [png(4000, 3000), png(1, 10**7), "not base64!", "iVBORw0K"])
def test_a_large_or_unreadable_image_counts_what_the_api_scales_it_to_at_most(data):
    body, payload = request(image(data))
    assert bounds.input_bound(body, payload).tokens == without(body, data) + bounds.IMAGE_MAX_TOKENS


def test_an_image_by_url_counts_the_most_an_image_can():
    block = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    body, payload = request(block)
    bound = bounds.input_bound(body, payload)
    assert bound.tokens == len(body) + bounds.REQUEST_TOKENS + bounds.IMAGE_MAX_TOKENS
    assert bound.unseen_documents == 0


def test_a_pdf_counts_each_page_and_its_text_however_compressed():
    data = pdf(pages=3, text_bytes=40_000, form_bytes=9_000)
    assert len(data) < 15_000  # what the old bound counted: the size of the data
    block = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": data},
    }
    body, payload = request(block)
    blocks = bounds.source_blocks(payload)
    assert bounds.reads_pdfs(blocks)
    tokens = bounds.input_bound(body, payload, blocks).tokens
    text = 3 * 40_000 + 9_000
    assert tokens >= without(body, data) + 3 * bounds.IMAGE_MAX_TOKENS + text
    assert tokens < without(body, data) + 3 * bounds.IMAGE_MAX_TOKENS + text + 500


def test_a_pdf_that_cannot_be_read_counts_its_size_and_a_page():
    data = base64.b64encode(b"%PDF-1.7 this is no PDF").decode()
    block = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": data},
    }
    body, payload = request(block)
    assert bounds.input_bound(body, payload).tokens == (
        without(body, data) + len(base64.b64decode(data)) + bounds.IMAGE_MAX_TOKENS
    )


def test_nested_sources_are_found():
    inner = png(30, 30)
    payload = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "content": [image(inner)]},
                    {
                        "type": "document",
                        "source": {"type": "content", "content": [image(inner)]},
                    },
                    {"type": "document", "source": {"type": "file", "file_id": "file_1"}},
                ],
            }
        ]
    }
    blocks = bounds.source_blocks(payload)
    assert len(blocks) == 4  # two images, the content document, the file
    assert bounds.unseen_documents(blocks) == 1


URL_DOCUMENT = {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}


def test_a_document_by_url_is_counted_by_the_upstream(gateway):
    """Even when the upstream's input bound is the request's size: the size of a document
    by URL is not in the request."""
    assert gateway.upstream.input_bound == InputBound.REQUEST_SIZE
    raw = gateway.sdk().messages.with_raw_response.create(
        model="claude-sonnet-4-5",
        max_tokens=10,
        messages=[
            {
                "role": "user",
                "content": [
                    URL_DOCUMENT,
                    {"type": "text", "text": "fake: reply input=4321 output=2"},
                ],
            }
        ],
    )
    # Tier 1: 30,000 input tokens per minute; the upstream's count was reserved.
    assert raw.headers["anthropic-ratelimit-input-tokens-remaining"] == str(30_000 - 4321)
    paths = [entry["body"].get("max_tokens") for entry in gateway.upstream_log()]
    assert paths == [None, 10]  # count_tokens first, then the message
    gateway.settled()


def test_a_document_by_url_the_upstream_cannot_count_reserves_the_estimate(gateway):
    upstreams.upstream_configure(name="fake", base_url=f"{gateway.upstream_url}/nowhere")
    lookups.clear()
    counted = gateway.sdk().messages.count_tokens(
        model="claude-sonnet-4-5",
        messages=[{"role": "user", "content": [URL_DOCUMENT, {"type": "text", "text": "Hi"}]}],
    )
    assert counted.input_tokens > bounds.UNSEEN_DOCUMENT_TOKENS
