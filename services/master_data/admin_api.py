"""The admin JSON API: create, update and delete master entries, and import master files.

`PUT` creates or replaces the entry its path names; `DELETE` removes it. Every call needs
`authorization: Bearer $ADMIN_TOKEN`; without ADMIN_TOKEN configured the API is switched off.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any, Final

from opentelemetry import trace
from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.common.gtin import BadCode, gtin14
from services.common.http_tracing import traced
from services.common.secrets import BearerToken

from .catalog import ItemCatalog
from .errors import HTTP_STATUS, CatalogError, ErrorCode
from .master_files import InvalidMasterFile, read_master_file
from .master_import import import_master_file
from .records import Barcode, Item, MasterRecord, ScanLayout, Store, StorePrice, TaxRule, Tenant
from .repository import ChangeRejected, Deletion, EntryNotFound

PREFIX: Final = "/admin/v1"
ENTRY_PATHS: Final[dict[str, type[MasterRecord]]] = {
    "/tenants/{tenant_id}": Tenant,
    "/tenants/{tenant_id}/stores/{store_code}": Store,
    "/tenants/{tenant_id}/tax-rules/{tax_code}": TaxRule,
    "/tenants/{tenant_id}/items/{item_code}": Item,
    "/tenants/{tenant_id}/stores/{store_code}/prices/{item_code}": StorePrice,
    "/tenants/{tenant_id}/barcodes/{barcode}": Barcode,
    "/tenants/{tenant_id}/scan-layouts/{layout_id}": ScanLayout,
}

log = logging.getLogger(__name__)


def error(code: ErrorCode, message: str, details: list[Any] | None = None) -> JSONResponse:
    """The admin API's answer for a failure, with the status the code has at this edge."""
    return JSONResponse(CatalogError(code, message, details).body(), HTTP_STATUS[code])


class AdminApi:
    """Routes of the admin API over one catalog (whose writes clear its read cache)."""

    def __init__(
        self,
        catalog: ItemCatalog,
        token: BearerToken,
        max_body_bytes: int,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self._catalog = catalog
        self._token = token
        self._limit = max_body_bytes
        self._tracer = tracer  # a span per write, so its changes carry its trace

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [
            Route(f"{PREFIX}{path}",
                  traced(self._tracer, self._entry_endpoint(kind), f"{PREFIX}{path}"),
                  methods=["PUT", "DELETE"])
            for path, kind in ENTRY_PATHS.items()
        ]  # fmt: skip
        imports = f"{PREFIX}/import"
        routes.append(Route(imports, traced(self._tracer, self._import, imports), methods=["POST"]))
        return routes

    def _denied(self, request: Request) -> Response | None:
        if not self._token.required:
            return error(
                ErrorCode.ADMIN_DISABLED, "the admin API is off: set ADMIN_TOKEN to use it"
            )
        if not self._token.accepts(request.headers.get("authorization")):
            return error(ErrorCode.UNAUTHENTICATED, "missing or invalid bearer token")
        return None

    async def _body(self, request: Request) -> bytes | Response:
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > self._limit:
                    return error(ErrorCode.BODY_TOO_LARGE, f"body exceeds {self._limit} bytes")
        except ClientDisconnect:  # it left mid-body: expected, nobody to answer, no error
            log.info("admin client left during %s %s", request.method, request.url.path)
            return Response(status_code=499)
        return bytes(body)

    def _entry_endpoint(self, kind: type[MasterRecord]) -> Any:
        async def endpoint(request: Request) -> Response:
            if (denied := self._denied(request)) is not None:
                return denied
            key = dict(request.path_params)
            if request.method == "DELETE":
                if kind is Barcode:  # named in any GTIN form, kept as its GTIN-14
                    try:
                        key["barcode"] = gtin14(key["barcode"])
                    except BadCode as bad:
                        details = [{"field": "barcode", "message": str(bad)}]
                        return error(
                            ErrorCode.VALIDATION_ERROR, "the barcode is not valid", details
                        )
                return await self._delete(kind, key)
            body = await self._body(request)
            if isinstance(body, Response):
                return body
            return await self._put(kind, key, body)

        return endpoint

    async def _put(self, kind: type[MasterRecord], key: dict[str, str], body: bytes) -> Response:
        try:
            fields = json.loads(body)
        except (ValueError, RecursionError):
            return error(ErrorCode.INVALID_JSON, "body is not valid JSON")
        if not isinstance(fields, dict):
            return error(ErrorCode.INVALID_JSON, "body must be a JSON object")
        clashes = [k for k in fields if k in key or _snake(k) in key]
        if clashes:
            return error(ErrorCode.INVALID_FIELD, f"{', '.join(clashes)} comes from the path")
        try:
            record = kind.model_validate({**fields, **key})
        except ValidationError as invalid:
            details = [
                {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in invalid.errors()
            ]
            return error(ErrorCode.VALIDATION_ERROR, "the entry is not valid", details)
        try:
            await self._catalog.apply([record])
        except ChangeRejected:
            return await self._rejected(record)
        return JSONResponse(record.model_dump(mode="json", by_alias=True))

    async def _rejected(self, record: MasterRecord) -> Response:
        """Why a write was refused: a barcode another item has (both named), or a reference."""
        if isinstance(record, Barcode):
            owner = await self._catalog.barcode_item(record.tenant_id, record.barcode)
            if owner is not None and owner != record.item_code:
                return error(
                    ErrorCode.IN_USE,
                    f"barcode {record.barcode} belongs to item {owner}, not {record.item_code}:"
                    " delete it there first",
                    [{"field": "barcode", "itemCode": owner}],
                )
        if isinstance(record, ScanLayout):
            for other in await self._catalog.scan_layouts(record.tenant_id):
                if other.layout_id != record.layout_id and other.layout().overlaps(record.layout()):
                    return error(
                        ErrorCode.IN_USE,
                        f"prefix {record.prefix} overlaps layout {other.layout_id} (prefix"
                        f" {other.prefix}): a code could fall under both",
                        [{"field": "prefix", "layoutId": other.layout_id}],
                    )
        return error(
            ErrorCode.UNKNOWN_REFERENCE,
            "refers to a tenant, store, item or tax rule that does not exist",
        )

    async def _delete(self, kind: type[MasterRecord], key: dict[str, str]) -> Response:
        try:
            await self._catalog.apply([Deletion(kind, tuple(key.values()))])
        except EntryNotFound as missing:
            return error(ErrorCode.NOT_FOUND, str(missing))
        except ChangeRejected:
            return error(ErrorCode.IN_USE, f"the {kind.__name__} is still in use")
        return Response(status_code=204)

    async def _import(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        file_format = request.query_params.get("format", "json")
        kind = request.query_params.get("kind")
        try:
            opened = (lambda: io.BytesIO(body), file_format, kind)
            file = await asyncio.to_thread(read_master_file, *opened)  # JSON: parsed whole
            count = await import_master_file(self._catalog, file)
        except InvalidMasterFile as invalid:
            details = [p.as_dict() for p in invalid.problems]
            more = f" ({invalid.more} more problems not listed)" if invalid.more else ""
            message = f"{invalid.checked} records checked, nothing written{more}"
            return error(ErrorCode.INVALID_MASTER_FILE, message, details)
        return JSONResponse({"imported": count})


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
