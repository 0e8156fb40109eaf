"""The cart API on Starlette: JSON in and out, every route under /api/v1 behind X-API-KEY.

Each route reads and validates its body, asks CartService, and answers the cart (or an error
in the one shape `{"code", "message", "details"?}`). Unexpected exceptions answer 500 with a
generic message; the detail goes to the log.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from opentelemetry import trace
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.common.http_tracing import Endpoint, traced
from services.common.storage_errors import StorageUnavailable
from services.wire.headers import ascii_digits

from . import cart_json
from .api_models import (
    DISCOUNTS,
    LINE_ITEMS,
    DiscountInput,
    PaymentInput,
    QuantityInput,
    UnitPriceInput,
)
from .auth import TerminalAuthenticator
from .cart import Cart
from .cart_service import CartService, LineRequest
from .errors import CartError, ErrorCode
from .rate_limit import RateLimiter
from .repository import IdempotencyKey
from .terminals import Terminal

log = logging.getLogger(__name__)

PREFIX: Final = "/api/v1"
TIMEOUT_HEADER: Final = "x-request-timeout-ms"  # optional: the caller's remaining time

Handler = Callable[[Request, Terminal], Awaitable[Response]]
_KEY: Final = re.compile(r"[\x21-\x7e]{1,255}")  # an Idempotency-Key: visible ASCII


RETRY_LATER: Final = {ErrorCode.RATE_LIMITED, ErrorCode.STORAGE_UNAVAILABLE}


# An id that could name a cart or a transaction: printable ASCII, no space, at most 64 (the
# service makes UUIDs); anything else (a NUL that PostgreSQL refuses, 10 KB of text) is an id
# of nothing, answered as such before any query.
_ID: Final = re.compile(r"[\x21-\x7e]{1,64}")
_LINE_NO: Final = re.compile(r"[0-9]{1,9}")


CLIENT_CLOSED: Final = 499  # nginx's "client closed request": never sent, only logged by proxies


def checked_id(value: str, missing: ErrorCode, what: str) -> str:
    if not _ID.fullmatch(value):
        raise CartError(missing, f"no such {what}")
    return value


def _line_no(request: Request) -> int:
    text = str(request.path_params["line_no"])
    if not _LINE_NO.fullmatch(text):
        raise CartError(ErrorCode.LINE_NOT_FOUND, "lineNo is a line number: 1, 2, ...")
    return int(text)


def error_response(error: CartError) -> JSONResponse:
    headers = {"Retry-After": "1"} if error.code in RETRY_LATER else None
    return JSONResponse(error.body(), status_code=error.http_status, headers=headers)


def cart_response(request: Request, cart: Cart, status_code: int = 200) -> Response:
    """The whole cart (made once per change from each line's kept JSON), or with
    `?view=summary` the cart with only the lines this request changed and `lineCount`."""
    query = request.scope["query_string"]  # most requests have none: nothing to parse
    view = request.query_params.get("view", "full") if query else "full"
    if view not in {"full", "summary"}:
        raise CartError(ErrorCode.VALIDATION_ERROR, "view must be full or summary",
                        [{"field": "view"}])  # fmt: skip
    body = cart_json.summary(cart) if view == "summary" else cart_json.document(cart)
    return Response(body, status_code=status_code, media_type="application/json")


def _field(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(body)"


def validation_error(invalid: ValidationError, part: str = "request body") -> CartError:
    details = [{"field": _field(e["loc"]), "message": e["msg"]} for e in invalid.errors()]
    fields = ", ".join(dict.fromkeys(d["field"] for d in details))
    return CartError(ErrorCode.VALIDATION_ERROR, f"invalid {part}: {fields}", details)


class CartApi:
    """The routes of the cart API over one CartService."""

    def __init__(
        self,
        service: CartService,
        authenticator: TerminalAuthenticator,
        max_body_bytes: int,
        rate_limiter: RateLimiter,
        idempotency_key_ttl_seconds: float = 86_400.0,
        *,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self._service = service
        self._auth = authenticator
        self._limit = max_body_bytes
        self._rate_limiter = rate_limiter
        self._key_ttl = idempotency_key_ttl_seconds
        self._tracer = tracer  # None: no span at all (tracing not configured)

    def routes(self) -> list[Route]:
        carts = f"{PREFIX}/carts"
        cart = f"{carts}/{{cart_id}}"
        line = f"{cart}/lineItems/{{line_no}}"  # read by _line_no: no 500 for 4,301 digits
        table: list[tuple[str, str, Handler]] = [
            (f"{cart}/lineItems", "POST", self.add_line_items),  # first: the hot path
            (carts, "POST", self.create_cart),
            (cart, "GET", self.get_cart),
            (f"{line}/cancel", "POST", self.cancel_line_item),
            (f"{line}/quantity", "PATCH", self.change_quantity),
            (f"{line}/unitPrice", "PATCH", self.change_unit_price),
            (f"{line}/discounts", "POST", self.discount_line),
            (f"{cart}/discounts", "POST", self.discount_cart),
            (f"{cart}/subtotal", "POST", self.subtotal),
            (f"{cart}/resume-item-entry", "POST", self.resume_item_entry),
            (f"{cart}/payments", "POST", self.add_payment),
            (f"{cart}/bill", "POST", self.bill),
            (f"{cart}/cancel", "POST", self.cancel_cart),
        ]
        return [
            Route(path, traced(self._tracer, self.guarded(handler), path), methods=[method])
            for path, method, handler in table
        ]

    def guarded(self, handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            try:
                terminal = await self._auth.terminal_for(request.headers.get("x-api-key"))
                if terminal is None:
                    raise CartError(ErrorCode.UNAUTHENTICATED, "missing or invalid X-API-KEY")
                if not self._rate_limiter.allow(terminal.key_id):
                    raise CartError(ErrorCode.RATE_LIMITED, "too many requests from this terminal")
                return await handler(request, terminal)
            except CartError as error:
                return error_response(error)
            except StorageUnavailable as outage:
                log.warning(
                    "cart store unavailable in %s %s: %s", request.method, request.url.path, outage
                )
                return error_response(
                    CartError(
                        ErrorCode.STORAGE_UNAVAILABLE,
                        "the cart store is unavailable: read the cart back, then try again",
                    )
                )
            except ClientDisconnect:  # it left mid-body: expected, and nobody to answer
                log.info("client left during %s %s", request.method, request.url.path)
                return Response(status_code=CLIENT_CLOSED)
            except Exception:
                log.exception("unexpected error in %s %s", request.method, request.url.path)
                return error_response(CartError(ErrorCode.INTERNAL, "internal error"))

        return endpoint

    def idempotency_key(self, request: Request, terminal: Terminal) -> IdempotencyKey | None:
        """The request's Idempotency-Key (IETF httpapi draft), bound to its method, path and
        body: None without one."""
        value = request.headers.get("idempotency-key")
        if value is None:
            return None
        key = value.strip()
        if len(key) >= 2 and key[0] == key[-1] == '"':  # sent as a structured-field string
            key = key[1:-1]
        if not _KEY.fullmatch(key):
            raise CartError(
                ErrorCode.VALIDATION_ERROR,
                "Idempotency-Key must be 1 to 255 printable ASCII characters",
            )
        raw: bytes = getattr(request.state, "raw_body", b"")
        digest = hashlib.sha256()
        for part in (request.method.encode(), request.url.path.encode(), raw):
            digest.update(len(part).to_bytes(8, "big") + part)
        return IdempotencyKey(terminal.key_id, key, digest.hexdigest(), self._key_ttl)

    async def read_body(self, request: Request, schema: type[BaseModel] | TypeAdapter[Any]) -> Any:
        declared = ascii_digits(request.headers.get("content-length"))
        if declared is not None and declared > self._limit:
            raise CartError(ErrorCode.BODY_TOO_LARGE, f"the body exceeds {self._limit} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self._limit:
                raise CartError(ErrorCode.BODY_TOO_LARGE, f"the body exceeds {self._limit} bytes")
        if request.headers.get("idempotency-key") is not None:  # what its fingerprint covers
            request.state.raw_body = bytes(body)
        content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
        if content_type != "application/json":
            raise CartError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "send the body as application/json")
        if body.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark: ignored (RFC 8259 8.1)
            del body[:3]
        try:  # parsed and validated in one pass (pydantic's parser: RFC 8259, UTF-8 only)
            if isinstance(schema, TypeAdapter):
                return schema.validate_json(body)
            return schema.model_validate_json(body)
        except ValidationError as invalid:
            if invalid.errors()[0]["type"] == "json_invalid":
                raise CartError(ErrorCode.VALIDATION_ERROR, "the body is not valid JSON") from None
            raise validation_error(invalid) from None

    @staticmethod
    def _deadline(request: Request) -> float | None:
        value = request.headers.get(TIMEOUT_HEADER)
        if value is None:
            return None
        milliseconds = ascii_digits(value, 9)
        if milliseconds is None:
            raise CartError(
                ErrorCode.VALIDATION_ERROR,
                "X-Request-Timeout-Ms must be an integer of 1 to 9 ASCII digits",
            )
        return time.monotonic() + milliseconds / 1000

    @staticmethod
    def _cart_id(request: Request) -> str:
        return checked_id(request.path_params["cart_id"], ErrorCode.CART_NOT_FOUND, "cart")

    async def create_cart(self, request: Request, terminal: Terminal) -> Response:
        idempotency = self.idempotency_key(request, terminal)
        return cart_response(
            request, await self._service.create(terminal, idempotency), status_code=201
        )

    async def get_cart(self, request: Request, terminal: Terminal) -> Response:
        return cart_response(request, await self._service.get(terminal, self._cart_id(request)))

    async def add_line_items(self, request: Request, terminal: Terminal) -> Response:
        deadline = self._deadline(request)
        inputs = await self.read_body(request, LINE_ITEMS)
        lines = [LineRequest(i.item_code or "", i.quantity, i.unit_price, i.scan) for i in inputs]
        idempotency = self.idempotency_key(request, terminal)
        return cart_response(
            request,
            await self._service.add_lines(
                terminal, self._cart_id(request), lines, deadline, idempotency
            ),
        )

    async def cancel_line_item(self, request: Request, terminal: Terminal) -> Response:
        line_no = _line_no(request)
        idempotency = self.idempotency_key(request, terminal)
        return cart_response(
            request,
            await self._service.cancel_line(terminal, self._cart_id(request), line_no, idempotency),
        )

    async def change_quantity(self, request: Request, terminal: Terminal) -> Response:
        body: QuantityInput = await self.read_body(request, QuantityInput)
        line_no = _line_no(request)
        return cart_response(
            request,
            await self._service.change_quantity(
                terminal,
                self._cart_id(request),
                line_no,
                body.quantity,
                self.idempotency_key(request, terminal),
            ),
        )

    async def change_unit_price(self, request: Request, terminal: Terminal) -> Response:
        body: UnitPriceInput = await self.read_body(request, UnitPriceInput)
        line_no = _line_no(request)
        return cart_response(
            request,
            await self._service.change_unit_price(
                terminal,
                self._cart_id(request),
                line_no,
                body.unit_price,
                self.idempotency_key(request, terminal),
            ),
        )

    async def discount_line(self, request: Request, terminal: Terminal) -> Response:
        inputs: list[DiscountInput] = await self.read_body(request, DISCOUNTS)
        line_no = _line_no(request)
        return cart_response(
            request,
            await self._service.discount_line(
                terminal,
                self._cart_id(request),
                line_no,
                [i.discount() for i in inputs],
                self.idempotency_key(request, terminal),
            ),
        )

    async def discount_cart(self, request: Request, terminal: Terminal) -> Response:
        inputs: list[DiscountInput] = await self.read_body(request, DISCOUNTS)
        return cart_response(
            request,
            await self._service.discount_cart(
                terminal,
                self._cart_id(request),
                [i.discount() for i in inputs],
                self.idempotency_key(request, terminal),
            ),
        )

    async def resume_item_entry(self, request: Request, terminal: Terminal) -> Response:
        idempotency = self.idempotency_key(request, terminal)
        return cart_response(
            request,
            await self._service.resume_item_entry(terminal, self._cart_id(request), idempotency),
        )

    async def subtotal(self, request: Request, terminal: Terminal) -> Response:
        idempotency = self.idempotency_key(request, terminal)
        return cart_response(
            request, await self._service.subtotal(terminal, self._cart_id(request), idempotency)
        )

    async def add_payment(self, request: Request, terminal: Terminal) -> Response:
        body: PaymentInput = await self.read_body(request, PaymentInput)
        return cart_response(
            request,
            await self._service.pay(
                terminal,
                self._cart_id(request),
                body.method,
                body.amount,
                self.idempotency_key(request, terminal),
            ),
        )

    async def bill(self, request: Request, terminal: Terminal) -> Response:
        idempotency = self.idempotency_key(request, terminal)
        cart, receipt = await self._service.bill(terminal, self._cart_id(request), idempotency)
        body = cart.model_dump(mode="json", by_alias=True)
        body["receipt"] = receipt.model_dump(mode="json", by_alias=True)
        return JSONResponse(body)

    async def cancel_cart(self, request: Request, terminal: Terminal) -> Response:
        idempotency = self.idempotency_key(request, terminal)
        return cart_response(
            request, await self._service.cancel(terminal, self._cart_id(request), idempotency)
        )
