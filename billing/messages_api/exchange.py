"""One HTTP exchange with a client, in ASGI terms: its headers, its body read within a
bound, and the answers, each carrying `request-id` and the rate-limit headers known."""

import json
from typing import Any

from django.core.exceptions import ValidationError

from console.ids import new_id
from console.validation import JSONRefused, check_text, loads_json


class GatewayError(Exception):
    """An answer in the Messages API's error envelope."""

    def __init__(
        self, status: int, error_type: str, message: str, *, headers: dict | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = headers or {}


class ClientGone(Exception):
    """The client closed the connection."""


class Exchange:
    def __init__(self, scope: dict, receive: Any, send: Any) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.request_id = new_id("req_")
        self.headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            # A header sent twice (two anthropic-beta lines) is one comma-separated list.
            self.headers[name] = f"{self.headers[name]},{value}" if name in self.headers else value
        self.started = False
        # Sent with every answer from the moment they are known (the rate-limit headers).
        self.extra_headers: dict[str, str] = {}

    def header(self, name: str) -> str | None:
        return self.headers.get(name) or None

    def api_key(self) -> str | None:
        """The key, from `x-api-key` or `Authorization: Bearer`."""
        key = self.header("x-api-key")
        if key:
            return key.strip()
        scheme, _, token = (self.header("authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None

    # -- Reading ----------------------------------------------------------------------------

    async def read_body(self, limit: int) -> bytes:
        too_large = GatewayError(
            413, "request_too_large", f"Request bodies can be at most {limit:,} bytes."
        )
        length = self.header("content-length")
        # ASCII digits only: str.isdigit() also takes "²", which int() does not.
        if length is not None and not (length.isascii() and length.isdigit()):
            raise GatewayError(400, "invalid_request_error", "Content-Length: not a number.")
        if length is not None and int(length) > limit:
            raise too_large
        body = bytearray()
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            body += message.get("body", b"")
            if len(body) > limit:
                raise too_large
            if not message.get("more_body"):
                return bytes(body)

    def parse_json(self, body: bytes) -> dict:
        """The body as a JSON object; 400 in the envelope for anything else, including JSON
        nested too deep and strings no server may be sent (NUL)."""
        try:
            payload = loads_json(body)
        except JSONRefused as error:
            raise GatewayError(400, "invalid_request_error", error.message) from None
        if not isinstance(payload, dict):
            raise GatewayError(
                400, "invalid_request_error", "The request body must be a JSON object."
            )
        model = payload.get("model")
        if isinstance(model, str):
            try:
                check_text(model, field="model")
            except ValidationError:
                raise GatewayError(
                    400, "invalid_request_error", "model: must not contain control characters."
                ) from None
        return payload

    async def disconnected(self) -> None:
        """Returns when the client has gone (or the answer is complete)."""
        while (await self._receive())["type"] != "http.disconnect":
            pass

    # -- Answering --------------------------------------------------------------------------

    async def start(
        self, status: int, *, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        raw = [
            (b"content-type", content_type.encode()),
            (b"request-id", self.request_id.encode()),
        ]
        for name, value in {**self.extra_headers, **(headers or {})}.items():
            raw.append((name.encode("latin-1"), str(value).encode("latin-1")))
        self.started = True
        await self._emit({"type": "http.response.start", "status": status, "headers": raw})

    async def send_body(self, body: bytes, *, more: bool = True) -> None:
        await self._emit({"type": "http.response.body", "body": body, "more_body": more})

    async def send_bytes(
        self, status: int, body: bytes, *, content_type: str, headers: dict | None = None
    ) -> None:
        await self.start(
            status,
            content_type=content_type,
            headers={**(headers or {}), "content-length": str(len(body))},
        )
        await self.send_body(body, more=False)

    async def send_json(self, status: int, data: Any, *, headers: dict | None = None) -> None:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        await self.send_bytes(status, body, content_type="application/json", headers=headers)

    async def send_error(
        self, status: int, error_type: str, message: str, *, headers: dict | None = None
    ) -> None:
        envelope = {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": self.request_id,
        }
        await self.send_json(status, envelope, headers=headers)

    async def _emit(self, message: dict) -> None:
        try:
            await self._send(message)
        except OSError as error:
            raise ClientGone from error
