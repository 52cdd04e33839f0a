"""The OpenAPI 3.1 document, generated from the route table and its message descriptions."""

from __future__ import annotations

import re
from typing import Any

from trackline import __version__

from trackline_server.protocol import ENUMS, MESSAGES, SCALARS, Field

_SCALAR_SCHEMAS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "int64": {"type": "integer", "format": "int64"},
    "int32": {"type": "integer", "format": "int32"},
    "double": {"oneOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}]},
    "bool": {"type": "boolean"},
}
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error_code", "message"],
    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
}
_STATUS = {"400": "Invalid request", "404": "Not found", "500": "Internal error"}
_EXTRA_STATUS = {"501": "Not implemented for this artifact destination"}


def field_schema(field: Field) -> dict[str, Any]:
    if field.type in SCALARS:
        schema = dict(_SCALAR_SCHEMAS[field.type])
    elif field.type.startswith("enum:"):
        schema = {"$ref": f"#/components/schemas/{field.type[5:]}"}
    else:
        schema = {"$ref": f"#/components/schemas/{field.type}"}
    if field.repeated:
        schema = {"type": "array", "items": schema}
    if field.doc:
        schema = {**schema, "description": field.doc}
    return schema


def message_schema(fields: tuple[Field, ...]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {f.name: field_schema(f) for f in fields},
    }
    required = [f.name for f in fields if f.required]
    if required:
        schema["required"] = required
    return schema


def _query_parameters(fields: tuple[Field, ...]) -> list[dict[str, Any]]:
    return [
        {
            "name": f.name,
            "in": "query",
            "required": f.required,
            "schema": field_schema(f),
            **({"explode": True} if f.repeated else {}),
        }
        for f in fields
        if f.type in SCALARS or f.type.startswith("enum:")
    ]


def path_parameters(path: str) -> list[str]:
    """Names of the ``{name}`` / ``{name:converter}`` parameters of a route path."""
    return re.findall(r"\{(\w+)(?::\w+)?\}", path)


def _operation(route: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": route.name, "summary": route.summary or route.name}
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in path_parameters(route.path)
    ]
    responses: dict[str, Any] = {
        code: {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code, text in {
            **_STATUS,
            **{code: _EXTRA_STATUS[code] for code in route.statuses},
        }.items()
    }
    if route.kind == "rpc" or route.response:
        ok = {"application/json": {"schema": message_schema(route.response)}}
    elif route.media_type == "application/json":
        ok = {"application/json": {"schema": {"type": "object"}}}
    elif route.media_type:
        ok = {route.media_type: {"schema": {"type": "string"}}}
    else:
        ok = None
    responses["200"] = {"description": "Success"} | ({"content": ok} if ok else {})
    op["responses"] = responses
    op["_params"] = params
    return op


def build_openapi(routes: Any, static_prefix: str = "") -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        for path in route.paths(static_prefix):
            doc_path = re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
            in_path = set(path_parameters(route.path))
            fields = tuple(f for f in route.request if f.name not in in_path)
            for method in route.methods:
                op = _operation(route)
                params = op.pop("_params")
                if method == "GET" or route.raw_body:
                    params += _query_parameters(fields)
                if method == "PUT" or route.raw_body:
                    op["requestBody"] = {
                        "content": {"application/octet-stream": {"schema": {"type": "string"}}}
                    }
                elif fields and route.kind == "rpc":
                    op["requestBody"] = {
                        "required": True,
                        "content": {"application/json": {"schema": message_schema(fields)}},
                    }
                if params:
                    op["parameters"] = params
                op["operationId"] = f"{route.name}_{method}_{len(paths)}"
                paths.setdefault(doc_path, {})[method.lower()] = op
    schemas: dict[str, Any] = {name: message_schema(fields) for name, fields in MESSAGES.items()}
    for name, values in ENUMS.items():
        schemas[name] = {"type": "string", "enum": list(values)}
    schemas["Error"] = _ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "trackline tracking server",
            "version": __version__,
            "description": "MLflow-compatible tracking REST API and proxied artifact service.",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }
