"""The OpenAPI 3.1 description of master-data's admin API (admin_api), built from the records it
writes: a PUT and a DELETE per kind of entry, the import of a master file, the admin token as
a security scheme. Committed as `contracts/openapi/master-data-admin.json` (`just gen`) and
guarded by `just breaking`; the service does not serve it (the admin API is off by default).

    python -m services.master_data.admin_openapi FILE    # write the document
"""

from __future__ import annotations

import sys
from typing import Any, Final

from pydantic.alias_generators import to_camel
from pydantic.json_schema import models_json_schema

from services.common.openapi_parts import (
    document,
    error_responses,
    error_schema,
    json_body,
    ref,
    write_document,
)

from .admin_api import ENTRY_PATHS, PREFIX
from .errors import HTTP_STATUS, ErrorCode
from .master_files import CSV_KINDS
from .records import Barcode, Item, MasterRecord, ScanLayout, Store, StorePrice, TaxRule, Tenant

E = ErrorCode
EVERY_ROUTE: Final = (E.UNAUTHENTICATED, E.ADMIN_DISABLED, E.UNAVAILABLE)
EXAMPLES: Final[dict[type[MasterRecord], dict[str, Any]]] = {
    Tenant: {"name": "Demo Retail", "currencyCode": "JPY"},
    Store: {"name": "Shibuya"},
    TaxRule: {"name": "Standard 10%", "taxType": "EXTERNAL", "rateBasisPoints": 1000,
              "roundingMethod": "FLOOR"},
    Item: {"itemName": "Green tea 500 ml", "unitPrice": 150, "taxCode": "TX10",
           "categoryCode": "DRINK"},
    StorePrice: {"unitPrice": 140},
    Barcode: {"itemCode": "ITEM0005"},
    ScanLayout: {"prefix": "02", "itemDigits": 5, "embedded": "price", "valueDigits": 5},
}  # fmt: skip
NAMES: Final[dict[type[MasterRecord], str]] = {
    kind: kind.__name__ for kind in (Tenant, Store, TaxRule, Item, StorePrice, Barcode, ScanLayout)
}


def _body_schema(kind: type[MasterRecord], schema: dict[str, Any]) -> dict[str, Any]:
    """What a PUT sends: the record without the fields its path gives."""
    from_path = {to_camel(name) for name in kind.KEY}
    body = dict(schema)
    body["title"] = f"{NAMES[kind]}Fields"
    body["properties"] = {k: v for k, v in schema["properties"].items() if k not in from_path}
    body["required"] = [k for k in schema.get("required", []) if k not in from_path]
    return body


def _path_parameters(path: str, schema: dict[str, Any]) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [
        {"name": to_camel(n), "in": "path", "required": True,
         "schema": schema["properties"][to_camel(n)]}
        for n in names
    ]  # fmt: skip


def _entry_operations(kind: type[MasterRecord], schema: dict[str, Any]) -> dict[str, Any]:
    name = NAMES[kind]
    fields = f"{name}Fields"
    return {
        "put": {
            "operationId": f"put{name}",
            "tags": ["entries"],
            "summary": f"Create or replace a {name}",
            "requestBody": json_body("", ref(fields), EXAMPLES[kind]) | {"required": True},
            "responses": {
                "200": json_body(f"the {name} as stored", ref(name)),
                **error_responses(
                    (
                        *EVERY_ROUTE,
                        E.INVALID_JSON,
                        E.INVALID_FIELD,
                        E.VALIDATION_ERROR,
                        E.UNKNOWN_REFERENCE,
                        # another item's barcode, a prefix that overlaps another layout's
                        *((E.IN_USE,) if kind in (Barcode, ScanLayout) else ()),
                        E.BODY_TOO_LARGE,
                    ),
                    HTTP_STATUS,
                ),
            },
        },
        "delete": {
            "operationId": f"delete{name}",
            "tags": ["entries"],
            "summary": f"Delete a {name} (409 in_use while other entries name it)",
            "responses": {
                "204": {"description": "deleted"},
                **error_responses(
                    (
                        *EVERY_ROUTE,
                        *((E.VALIDATION_ERROR,) if kind is Barcode else ()),  # not a GTIN
                        E.NOT_FOUND,
                        E.IN_USE,
                    ),
                    HTTP_STATUS,
                ),
            },
        },
    }


def _import_operation() -> dict[str, Any]:
    kinds = sorted(CSV_KINDS)
    return {
        "operationId": "importMasterFile",
        "tags": ["import"],
        "summary": "Import a master file in one transaction, or nothing (docs/master-data.md)",
        "parameters": [
            {
                "name": "format",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"},
            },
            {
                "name": "kind",
                "in": "query",
                "required": False,
                "description": "what a CSV file holds (required with format=csv)",
                "schema": {"type": "string", "enum": kinds},
            },
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": ref("MasterFile")},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
        "responses": {
            "200": json_body(
                "how many records were written",
                {
                    "type": "object",
                    "required": ["imported"],
                    "properties": {"imported": {"type": "integer", "minimum": 0}},
                },
            ),
            **error_responses((*EVERY_ROUTE, E.INVALID_MASTER_FILE, E.BODY_TOO_LARGE), HTTP_STATUS),
        },
    }


def admin_openapi_document() -> dict[str, Any]:
    _, found = models_json_schema(
        [(kind, "validation") for kind in NAMES],
        by_alias=True,
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(found["$defs"])
    paths: dict[str, Any] = {}
    for path, kind in ENTRY_PATHS.items():
        spelled = "/".join(
            "{" + to_camel(p[1:-1]) + "}" if p.startswith("{") else p for p in path.split("/")
        )
        item = _entry_operations(kind, schemas[NAMES[kind]])
        item["parameters"] = _path_parameters(path, schemas[NAMES[kind]])
        paths[PREFIX + spelled] = item
        schemas[f"{NAMES[kind]}Fields"] = _body_schema(kind, schemas[NAMES[kind]])
    paths[PREFIX + "/import"] = {"post": _import_operation()}
    schemas["MasterFile"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            section: {"type": "array", "items": ref(NAMES[kind])}
            for section, kind in (
                ("tenants", Tenant),
                ("stores", Store),
                ("taxRules", TaxRule),
                ("items", Item),
                ("storePrices", StorePrice),
                ("barcodes", Barcode),
                ("scanLayouts", ScanLayout),
            )
        },
    }
    schemas["Error"] = error_schema(code for code in ErrorCode if code in HTTP_STATUS)
    return document(
        "kugel master-data admin API",
        "Writes master entries and imports master files; on only with ADMIN_TOKEN set (403"
        " admin_disabled otherwise). Money is integer minor units.",
        {"entries": "one master entry at a time", "import": "a whole master file"},
        ("adminToken", {"type": "http", "scheme": "bearer",
                        "description": "ADMIN_TOKEN (docs/master-data.md)"}),
        paths=paths,
        schemas=schemas,
    )  # fmt: skip


if __name__ == "__main__":
    write_document(admin_openapi_document(), sys.argv[1])
