"""Pieces both services' OpenAPI documents are made of: a reference to a schema, a JSON body,
the error answers of a route grouped by status with the codes each may carry, and writing a
document the same way every time (`just gen` must reproduce it byte for byte)."""

from __future__ import annotations

import http
import json
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any


def ref(schema: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema}"}


def json_body(description: str, schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    """A request or response body of JSON (with an example, when one is given)."""
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    body: dict[str, Any] = {"content": {"application/json": media}}
    if description:
        body["description"] = description
    return body


def error_responses(codes: Iterable[StrEnum], status_of: Mapping[Any, int]) -> dict[str, Any]:
    """The error answers of a route: per status, the one error body (whose `code` is one of the
    service's codes) and which of them the route answers with that status: in the description
    for a reader, in `x-error-codes` for a tool. One error model, not one per route and status,
    for a client generator."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(status_of[code], []).append(code.value)
    responses = {}
    for status in sorted(by_status):
        names = by_status[status]
        phrase = http.HTTPStatus(status).phrase
        answer = json_body(f"{phrase}: {', '.join(names)}", ref("Error"))
        responses[str(status)] = answer | {"x-error-codes": names}
    return responses


def error_schema(codes: Iterable[StrEnum]) -> dict[str, Any]:
    """The one error body of a service: a stable code, a message, details for some codes."""
    return {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "enum": [code.value for code in codes],
                     "description": "stable: what a client branches on"},
            "message": {"type": "string", "description": "for a person; may change"},
            "details": {"type": "array", "items": {"type": "object"}},
        },
    }  # fmt: skip


def document(
    title: str,
    description: str,
    tags: dict[str, str],
    scheme: tuple[str, dict[str, str]],
    *,
    paths: dict[str, Any],
    schemas: dict[str, Any],
) -> dict[str, Any]:
    """An OpenAPI 3.1 document: its title and description, tags (name -> description), one
    security scheme that every operation needs, its paths and schemas."""
    name, security = scheme
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0", "description": description},
        "tags": [{"name": n, "description": d} for n, d in tags.items()],
        "security": [{name: []}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {name: security}},
    }


def write_document(document: dict[str, Any], path: str) -> None:
    """The document as committed: indented, keys in the order built, a newline at the end."""
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    Path(path).write_text(text, encoding="utf-8")
